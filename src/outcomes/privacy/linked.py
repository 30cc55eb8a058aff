"""Complementary suppression across linked tables: counts that share totals, bands and margins.

A norms file publishes many counts that are tied together: the clients in each intake band
add up to the clients with an intake score, those and the clients without one add up to the
engagements, the clients with an end score in each band add up to those with a change score,
and so on. A reader who knows these ties can subtract one published count from another, so
a small count must be protected across every tie at once, not table by table.

:func:`suppress_linked` takes the true counts by name and the ties as *constraints*
(``parts`` add up to ``total``), withholds every count from 1 to ``k - 1`` (*primary*), and
then withholds further counts (*complementary*) until

- no constraint hides exactly one count, nor hides counts adding up to fewer than ``k``
  while its total is published, and
- no primary count is fixed by the published counts and all the constraints together
  (checked with the null space of the constraint system, as in Hundepool et al. 2012,
  *Statistical Disclosure Control*, section 4.2 on linked tables), and
- no primary count is bounded within 1 to ``k - 1`` once every count is known to be 0 or
  more (an audit by linear programming, the attack of a reader with a solver).

Some cells are never published but a reader could work them out (the clients of a band
without a session rating); they take part in the rules like any other count.

Examples
--------
>>> values = {"band 1": 40, "band 2": 31, "no intake score": 2, "all": 73}
>>> reasons = suppress_linked(values, [(["band 1", "band 2", "no intake score"], "all")], k=5)
>>> sorted(name for name, why in reasons.items() if why)
['band 2', 'no intake score']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from outcomes.privacy.suppression import check_k

__all__ = ["suppress_linked"]

Constraint = tuple[Sequence[str], str]


def _exposed(parts: Sequence[str], total: str, values: Mapping[str, float],
             unknown: set[str], primary: set[str], k: int) -> bool:
    """A constraint whose total is known while the unknown parts it holds, a primary count
    among them, add up to fewer than ``k`` (a small group disclosed together)."""
    if total in unknown:
        return False
    hidden = [c for c in parts if c in unknown]
    return any(c in primary for c in hidden) and sum(values[c] for c in hidden) < k


def _fixed(primaries: list[str], constraints: Sequence[Constraint], unknown: set[str]
           ) -> list[str]:
    """Primary counts that the known counts and the constraints determine."""
    cells = sorted(unknown)
    position = {c: i for i, c in enumerate(cells)}
    rows = []
    for parts, total in constraints:
        row = np.zeros(len(cells))
        for c in parts:
            if c in position:
                row[position[c]] += 1.0
        if total in position:
            row[position[total]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return list(primaries)
    _, singular, vt = np.linalg.svd(np.array(rows))
    null = vt[int((singular > 1e-9).sum()):]
    return [c for c in primaries
            if null.shape[0] == 0 or np.abs(null[:, position[c]]).max() < 1e-9]


def _hide_one(cells: Sequence[str], values: Mapping[str, float], unknown: set[str],
              totals: set[str], touching: Mapping[str, list[int]],
              constraints: Sequence[Constraint], never: Collection[str]) -> bool:
    """Hide the cheapest further cell: not a total, one whose other constraints already hold
    an unknown count, not a zero, then the smallest; names break ties."""
    options = [c for c in cells if c not in unknown and c not in never]
    if not options:
        return False

    def crossing(c: str) -> int:
        return sum(any(x in unknown for x in (*constraints[i][0], constraints[i][1]))
                   for i in touching[c])

    def key(c: str) -> tuple:
        return (c in totals, crossing(c) <= 1, values[c] == 0, values[c], c)

    unknown.add(min(options, key=key))
    return True


def _hide_farther(cell: str, values: Mapping[str, float], unknown: set[str],
                  totals: set[str], touching: Mapping[str, list[int]],
                  constraints: Sequence[Constraint], never: Collection[str]) -> bool:
    """Hide a published count farther from a fixed primary ``cell`` when every count of the
    constraints holding it is already unknown (the primary is worked out through a chain of
    ties): the nearest count whose hiding frees it, else the nearest one; totals last."""
    seen, frontier = {cell}, {cell}
    while frontier:
        nearby = {c for f in frontier for i in touching[f]
                  for c in (*constraints[i][0], constraints[i][1])} - seen
        options = [c for c in nearby if c not in unknown and c not in never]
        if options:
            freeing = [c for c in options if not _fixed([cell], constraints, unknown | {c})]
            unknown.add(min(freeing or options, key=lambda c: (
                c in totals, values[c] == 0, values[c], c)))
            return True
        seen |= nearby
        frontier = nearby
    return False


def suppress_linked(values: Mapping[str, float], constraints: Sequence[Constraint], *,
                    k: int, published: Collection[str] | None = None,
                    sensitive: Collection[str] | None = None,
                    never: Collection[str] = ()) -> dict[str, str]:
    """Primary and complementary suppression of counts tied by additive constraints.

    Parameters
    ----------
    values : mapping of str to number
        The true count of every cell (published or not) by name.
    constraints : sequence of (parts, total)
        Each says that the ``parts`` add up to ``total`` (all names of ``values``).
    k : int
        Smallest count published (at least 3).
    published : collection of str, optional
        The cells that would be published (default: all); the others are unknown to a
        reader unless the constraints give them away.
    sensitive : collection of str, optional
        The cells that must not be published or worked out when 1 to ``k - 1`` (default:
        all). Rounded releases leave out the cells a reader could only work out by
        subtracting rounded counts, which rounding blurs.
    never : collection of str, optional
        Cells that must not be chosen as complements (counts a reader knows anyway).

    Returns
    -------
    dict of str to str
        ``"primary"``, ``"complementary"`` or ``""`` for every cell (unpublished cells that
        stay unpublished read ``""`` unless they are primary).
    """
    k = check_k(k)
    for parts, total in constraints:
        if abs(sum(values[c] for c in parts) - values[total]) > 1e-9:
            raise ValueError(f"the counts do not add up: {list(parts)} -> {total}")
    shown = set(values) if published is None else set(published)
    small = set(values) if sensitive is None else set(sensitive)
    primary = {c for c, v in values.items() if 0 < v < k and c in small}
    unknown = primary | (set(values) - shown)
    added: set[str] = set()
    totals = {total for _, total in constraints}
    touching: dict[str, list[int]] = {c: [] for c in values}
    for i, (parts, total) in enumerate(constraints):
        for c in (*parts, total):
            touching[c].append(i)
    for _ in range(len(values) + 1):
        before = set(unknown)
        exposed = [(p, t) for p, t in constraints
                   if _exposed(p, t, values, unknown, primary, k)]
        if exposed:
            parts, total = exposed[0]
            _hide_one([*parts, total], values, unknown, totals, touching, constraints, never)
        else:
            fixed = _fixed(sorted(primary), constraints, unknown)
            if fixed and not any(
                    _hide_one([*constraints[i][0], constraints[i][1]], values, unknown,
                              totals, touching, constraints, never)
                    for i in touching[fixed[0]]):
                _hide_farther(fixed[0], values, unknown, totals, touching, constraints,
                              never)
        added |= unknown - before
        if unknown == before:
            break
    before = set(unknown)
    _audit(values, constraints, unknown, primary, k, totals, touching, never)
    added |= unknown - before
    return {c: "primary" if c in primary else "complementary" if c in added else ""
            for c in values}


def _pinned(cell: str, values: Mapping[str, float], constraints: Sequence[Constraint],
            unknown: set[str], k: int) -> bool:
    """Whether the published counts, the ties and counts being 0 or more bound ``cell``
    between 1 and ``k - 1`` (a linear programme, as a reader with a solver would run it)."""
    from scipy.optimize import linprog

    cells = sorted(unknown)
    position = {c: i for i, c in enumerate(cells)}
    rows, rhs = [], []
    for parts, total in constraints:
        row, known = np.zeros(len(cells)), 0.0
        for name, sign in [*((c, 1.0) for c in parts), (total, -1.0)]:
            if name in position:
                row[position[name]] += sign
            else:
                known += sign * values[name]
        if row.any():
            rows.append(row)
            rhs.append(-known)
    if not rows:
        return False
    target = np.zeros(len(cells))
    target[position[cell]] = 1.0
    high = linprog(-target, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None),
                   method="highs")
    if high.status != 0 or -high.fun >= k - 0.5:
        return False
    low = linprog(target, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None),
                  method="highs")
    return low.status == 0 and low.fun > 0.5


def _audit(values: Mapping[str, float], constraints: Sequence[Constraint], unknown: set[str],
           primary: set[str], k: int, totals: set[str], touching: Mapping[str, list[int]],
           never: Collection[str]) -> None:
    """Hide more counts until no primary count is bounded within 1 to ``k - 1`` once counts
    are known to be 0 or more (ties alone, as :func:`_fixed` checks, miss such bounds)."""
    for _ in range(len(values)):
        pinned = [c for c in sorted(primary) if _pinned(c, values, constraints, unknown, k)]
        if not pinned:
            return
        cell, seen, frontier = pinned[0], {pinned[0]}, {pinned[0]}
        options: list[str] = []
        while frontier and not options:
            nearby = {c for f in frontier for i in touching[f]
                      for c in (*constraints[i][0], constraints[i][1])} - seen
            options = sorted((c for c in nearby if c not in unknown and c not in never),
                             key=lambda c: (c in totals, values[c] == 0, values[c], c))
            seen |= nearby
            frontier = nearby
        if not options:
            return
        freeing = [c for c in options
                   if not _pinned(cell, values, constraints, unknown | {c}, k)]
        unknown.add((freeing or options)[0])
