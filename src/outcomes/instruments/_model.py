"""What an instrument is: the frozen records the instrument files are read into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "FACTORS", "RULES", "RATERS", "RELIABILITY_KINDS", "NORM_KINDS",
    "ItemRange", "Published", "Scale", "Instrument",
]

FACTORS = ("client", "relationship", "expectancy", "technique", "outcome")
RULES = ("sum", "mean", "zsum", "composite", "gas-tscore")
RATERS = ("client", "coach", "sponsor")
#: Published reliability figures an instrument file may give per scale.
RELIABILITY_KINDS = frozenset({"alpha", "omega", "retest"})
#: Published norms for change statistics (Jacobson & Truax 1991) and practice alerts.
NORM_KINDS = frozenset({
    "clinical_cutoff", "reliable_change", "concern_below", "mean", "sd",
    "functional_mean", "functional_sd", "dysfunctional_mean", "dysfunctional_sd",
})

Rule = Literal["sum", "mean", "zsum", "composite", "gas-tscore"]


@dataclass(frozen=True)
class ItemRange:
    """The possible answers to an item: ``min`` to ``max``, whole or decimal, with a step."""

    min: float
    max: float
    decimals: bool = False
    step: float | None = None


@dataclass(frozen=True)
class Published:
    """A published figure with its source.

    ``unverified`` is true where the project's notes mark the figure as taken from memory
    or a secondary page. Where a range is published, ``low`` and ``high`` hold it and
    ``value`` is its lower end (the cautious choice for reliable change).
    """

    value: float
    source: str
    unverified: bool = False
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Scale:
    """One scale of an instrument and how it is scored.

    Attributes
    ----------
    name : str
    items : tuple of int
        The items that make up the scale (for a composite, the items of its parts).
    rule : {"sum", "mean", "zsum", "composite", "gas-tscore"}
        ``sum``: sum of the items, prorated to the full count (mean of answered x count);
        ``mean``: mean of the answered items; ``zsum``: sum of items z-standardised across
        the responses scored together, prorated; ``composite``: sum of the ``plus`` scales
        minus the ``minus`` scales; ``gas-tscore``: the Kiresuk-Sherman T-score.
    reverse : tuple of int
        The scale's reverse-keyed items (x' = min + max - x).
    min_answered : float
        Smallest share of the items that must be answered for a score.
    higher_is_better : bool
    plus, minus : tuple of str
        For a composite, the scales added and subtracted.
    rho : float or None
        For ``gas-tscore``, the assumed correlation between goal scores.
    """

    name: str
    items: tuple[int, ...]
    rule: Rule | str
    reverse: tuple[int, ...] = ()
    min_answered: float = 1.0
    higher_is_better: bool = True
    plus: tuple[str, ...] = ()
    minus: tuple[str, ...] = ()
    rho: float | None = None

    @property
    def n_items(self) -> int:
        """The number of items in the scale."""
        return len(self.items)


def _empty() -> Mapping[str, Mapping[str, Published]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Instrument:
    """A questionnaire or rating method, as described by its instrument file.

    Use :func:`outcomes.instruments.get` for a packaged instrument and
    :func:`outcomes.instruments.load` for a file of your own.

    ``aliases`` are the other names people give the instrument ("Session Rating Scale");
    a study's ``instrument`` column may hold the key or an alias, in any case and with or
    without spaces, ``-`` and ``_`` (:func:`outcomes.instruments.key_for`).

    Examples
    --------
    >>> from outcomes import instruments
    >>> lot = instruments.get("lot-r")
    >>> lot.reverse, lot.unscored
    ((3, 7, 9), (2, 5, 6, 8))
    >>> lot.item_range(3)
    (0.0, 4.0)
    >>> instruments.get("ceq").item_range(4)
    (0.0, 100.0)
    """

    key: str
    name: str
    citation: str
    licence: str
    factor: str
    n_items: int
    items: tuple[int, ...]
    response: ItemRange
    scales: Mapping[str, Scale]
    overrides: Mapping[int, ItemRange] = field(default_factory=lambda: MappingProxyType({}))
    reverse: tuple[int, ...] = ()
    unscored: tuple[int, ...] = ()
    min_answered: float = 1.0
    missing_rule: str = "default"
    higher_is_better: bool = True
    raters: tuple[str, ...] = ("client",)
    reliability: Mapping[str, Mapping[str, Published]] = field(default_factory=_empty)
    norms: Mapping[str, Mapping[str, Published]] = field(default_factory=_empty)
    file: str = ""
    aliases: tuple[str, ...] = ()

    def range_of(self, item: int) -> ItemRange:
        """The :class:`ItemRange` of one item (its override, or the instrument's)."""
        return self.overrides.get(item, self.response)

    def item_range(self, item: int) -> tuple[float, float]:
        """The lowest and highest possible answer to ``item``."""
        found = self.range_of(item)
        return (found.min, found.max)

    def allows_decimals(self, item: int) -> bool:
        """Whether answers to ``item`` may have decimals (visual-analogue lines)."""
        return self.range_of(item).decimals

    @property
    def scored_items(self) -> tuple[int, ...]:
        """Items that enter some scale (all items but the unscored ones)."""
        return tuple(i for i in self.items if i not in self.unscored)

    def figure(self, kind: str, scale: str = "total") -> Published | None:
        """A published reliability or norm figure, or None when none is recorded.

        Examples
        --------
        >>> from outcomes import instruments
        >>> instruments.get("ors").figure("clinical_cutoff").value
        25.0
        >>> instruments.get("ors").figure("retest").unverified
        True
        """
        for section in (self.reliability, self.norms):
            found = section.get(scale, {}).get(kind)
            if found is not None:
                return found
        return None
