"""The disclosure gate of a coach's benchmark: every number on the page passes through it.

A benchmark is the coach's own, but coaches share it with supervisors and with the body, so
it follows the body's rules (:class:`~outcomes.privacy.disclosure.Disclosure`): an aggregate
of the coach's clients (a mean, a count, a percentage, an estimate and its interval) rests on
at least ``k`` of them or is withheld, and reads "withheld" whatever the reason. Beside
those, :class:`BenchmarkGate` logs three kinds of number the body's gate does not release:

- ``own`` -- one client's own value (an intake score, a session number), shown to the coach
  who holds the workbook it came from;
- ``from_norms`` -- a number the norms file already published (a body median, a band edge,
  the measure's reliable change), republished as it is;
- ``setting`` -- a number that is not data (the interval's level, the coverage of the
  expected range, ``k``).

Each goes into the same log, so a test can find every number of the rendered page in it.

Examples
--------
>>> gate = BenchmarkGate(k=5)
>>> gate.own(14.62, "row 2: intake").text, gate.from_norms(18.9, "band edge").text
('14.6', '18.9')
>>> gate.from_norms(36.0, "alliance cutoff").text
'36'
>>> gate.setting(95, "interval level").text, gate.mean([1, 2, 3], "mean change").text
('95', 'withheld')
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from outcomes.privacy.disclosure import Disclosure, Released

__all__ = ["BenchmarkGate", "plain"]


def plain(value: float, digits: int = 1) -> str:
    """A number at ``digits`` decimals with a true minus sign, and no "−0.0".

    Examples
    --------
    >>> plain(-0.04), plain(1234.5, 0), plain(-2.25, 1), plain(3, 1)
    ('0.0', '1,234', '−2.2', '3.0')
    """
    text = f"{float(value):,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return text.replace("-", "−")


class BenchmarkGate(Disclosure):
    """The body's :class:`~outcomes.privacy.disclosure.Disclosure` with the benchmark's own
    three kinds of number: a client's own value, a number of the norms, a setting."""

    def _logged(self, value: Any, what: str, n: int | None, rule: str, digits: int
                ) -> Released:
        if value is None or pd.isna(value):
            return self._withhold(what, n, "not available")
        number = float(value)
        if not math.isfinite(number):
            return self._withhold(what, n, "not available")
        text = plain(number, digits)
        published = float(text.replace("−", "-").replace(",", ""))
        return self._keep(Released(what, published, text, n, rule, 10.0 ** -digits))

    def own(self, value: Any, what: str, *, digits: int = 1) -> Released:
        """One client's own value, shown to the coach whose workbook holds it."""
        return self._logged(value, what, 1, "one of your own clients", digits)

    def from_norms(self, value: Any, what: str, *, n: Any = None,
                   digits: int | None = None) -> Released:
        """A number the norms file publishes, republished at ``digits`` decimals (by default
        none for a whole number, else one)."""
        clients = None if n is None or pd.isna(n) else int(n)
        if digits is None:
            whole = value is not None and not pd.isna(value) and float(value) == round(
                float(value))
            digits = 0 if whole else 1
        return self._logged(value, what, clients, "published in the norms", digits)

    def setting(self, value: Any, what: str, *, digits: int = 0) -> Released:
        """A number that is not data: a level, a coverage, a threshold."""
        return self._logged(value, what, None, "setting, not data", digits)
