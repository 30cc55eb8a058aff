"""outcomes: coaching-outcome research in Python."""
__version__ = "0.1.0"
