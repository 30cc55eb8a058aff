"""Reference splits of outcome among common factors, and comparing an estimate with one.

The published splits (:data:`REFERENCES`, each a :class:`ReferenceSplit`) live in
:mod:`outcomes.reference.splits`; :func:`compare` in :mod:`outcomes.reference.comparison`
sets an estimated split beside one of them, on the reference's denominator, with the
Aitchison distance between the two compositions.

Examples
--------
>>> REFERENCES["asay-lambert-1999"].shares["client"]
0.4
>>> c = compare({"client": 0.2, "relationship": 0.15, "expectancy": 0.05, "technique": 0.1},
...             "asay-lambert-1999")
>>> c.parts.estimate.round(2).tolist()
[0.4, 0.3, 0.1, 0.2]
>>> round(c.distance, 3)
0.494
"""

from outcomes.reference.comparison import Comparison, aitchison_distance, compare
from outcomes.reference.splits import REFERENCES, Denominator, ReferenceSplit

__all__ = ["ReferenceSplit", "REFERENCES", "Denominator", "Comparison", "compare",
           "aitchison_distance"]
