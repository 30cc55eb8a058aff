"""mixed."""
