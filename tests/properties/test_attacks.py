"""An attacker in the test suite: random studies, random one-client neighbours, every attack.

For each random study and a neighbour without one client, the attacker sees the two norms
releases (bands, distributions, sample counts, change counts and percentages) and tries:

- **all minus the bands** -- the ``all`` row less the band rows;
- **suppressed cells from the margins** -- the published counts and every tie a reader knows
  (bands add up to ``all``, a band's clients with a value are at most its clients, change
  categories add up to the clients with a change score, rounded counts lie within half the
  base of the true ones) as a linear programme: the lowest and highest value of every
  withheld count and of every count a reader could work out (clients without a value);
- **percent to count** -- the counts each published percentage and its published total allow;
- **differencing** -- every published mean and count of the two releases, and the two
  releases' SDs, which with n and the mean give the removed client's squared distance from
  the mean.

No number may rest on fewer than k clients, no withheld or derived count may be pinned to
1..k-1, no client's score may come back from two means narrower than the measure's range, nor
from two SDs narrower than half of it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from outcomes.norms._release import NO_INTAKE, measures
from outcomes.norms.build import release_tables
from outcomes.privacy import Disclosure, release_step

SPECS = measures()
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)
#: The measures a client may lack in the random studies (alliance and sessions are always
#: there, as in a real study: then their counts are the bands' clients).
COUNTED = ("end", "session_rating", "alliance", "sessions")


@st.composite
def studies(draw, k):
    n = draw(st.integers(k + 1, 30))  # norms are made of at least k engagements
    tenth = st.integers(0, 400).map(lambda v: v / 10)
    intake = draw(st.lists(st.one_of(st.none(), tenth), min_size=n, max_size=n))
    end = draw(st.lists(st.one_of(st.none(), tenth), min_size=n, max_size=n))
    rating = draw(st.lists(st.one_of(st.none(), tenth), min_size=n, max_size=n))
    table = pd.DataFrame({
        "engagement_id": [f"E{i}" for i in range(n)], "coach_id": [f"C{i % 4}" for i in range(n)],
        "baseline": pd.array(intake, dtype="Float64").astype(float),
        "end_score": pd.array(end, dtype="Float64").astype(float),
        "session_rating": pd.array(rating, dtype="Float64").astype(float),
        "alliance": draw(st.lists(st.integers(12, 60), min_size=n, max_size=n)),
        "sessions_attended": draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))})
    table["alliance"] = table["alliance"] / 12
    table["change"] = table["end_score"] - table["baseline"]
    return table, draw(st.integers(0, n - 1)), draw(st.sampled_from([None, 5]))


# -- the releases ----------------------------------------------------------------------------
def _release(table, k, base, with_change=True):
    gate = Disclosure(k=k, base=base)
    return release_tables(table, gate, bands=4, with_change=with_change), gate


def _rows(doc, measure):
    return {d["band"]: d for d in doc["distributions"] if d["measure"] == measure}


def _sum(entry, measure):
    """What a reader knows of a group's sum of scores: its published n and mean."""
    if entry["n"] is None or entry["mean"] is None:
        return None
    low, high = SPECS[measure].bounds
    step = release_step(entry["n"], span=high - low, precision=SPECS[measure].precision)
    return entry["n"] * (entry["mean"] - step / 2), entry["n"] * (entry["mean"] + step / 2)


def _no_small_statistic(gate, k):
    for record in gate.records:
        if not record.withheld and record.rule not in ("count", "rounded count"):
            assert record.n is None or record.n >= k, record
        if not record.withheld and record.rule in ("count", "rounded count"):
            assert record.n == 0 or record.n >= k, record


def _all_minus_bands(doc, k, base):
    for measure, spec in SPECS.items():
        rows = list(_rows(doc, measure).values())
        whole = _rows(doc, measure)["all"]
        sums = [_sum(d, measure) for d in rows]
        if any(s is None for s in sums) or whole["n"] is None:
            continue
        left = whole["n"] - sum(d["n"] for d in rows if d["band"] != "all")
        assert left == 0 or left >= k or base, (measure, left)
        if left:
            assert sum(s[1] - s[0] for s in sums) >= spec.bounds[1] - spec.bounds[0]


# -- suppressed cells from the margins -------------------------------------------------------
class _System:
    """The attacker's linear programme: a variable per count, the ties between them."""

    def __init__(self, base):
        self.names: dict[str, int] = {}
        self.eq: list[tuple[dict[str, float], float]] = []
        self.le: list[tuple[dict[str, float], float]] = []
        self.half = None if base is None else base / 2
        self.withheld: list[str] = []
        self._lp = None

    def var(self, name):
        return self.names.setdefault(name, len(self.names))

    def published(self, name, value):
        self.var(name)
        if value is None:
            self.withheld.append(name)
            return
        if self.half is None:
            self.eq.append(({name: 1.0}, float(value)))
        else:  # a rounded count: the true one lies within half the base
            self.le.append(({name: 1.0}, value + self.half - 0.5))
            self.le.append(({name: -1.0}, -(value - self.half + 0.5)))

    def tie(self, parts, total):
        for name in (*parts, total):
            self.var(name)
        self.eq.append(({**{p: 1.0 for p in parts}, total: -1.0}, 0.0))

    def at_most(self, part, whole):
        self.var(part), self.var(whole)
        self.le.append(({part: 1.0, whole: -1.0}, 0.0))

    def _matrix(self, rows):
        out = np.zeros((len(rows), len(self.names)))
        for i, (coef, _) in enumerate(rows):
            for name, c in coef.items():
                out[i, self.names[name]] += c
        return out, np.array([b for _, b in rows])

    def known(self, target):
        """The value of ``target`` when every count in it is published exactly, else None."""
        exact = {next(iter(coef)): b for coef, b in self.eq if len(coef) == 1}
        if self.half is not None or any(name not in exact for name in target):
            return None
        return sum(coef * exact[name] for name, coef in target.items())

    def _extreme(self, target, sign):
        """The highest (sign 1) or lowest (sign -1) value of ``target``."""
        if self._lp is None:
            a_eq, b_eq = self._matrix(self.eq)
            a_le, b_le = self._matrix(self.le) if self.le else (None, None)
            self._lp = {"A_ub": a_le, "b_ub": b_le, "A_eq": a_eq, "b_eq": b_eq}
        c = np.zeros(len(self.names))
        for name, coef in target.items():
            c[self.names[name]] = coef
        fit = linprog(-sign * c, bounds=(0, None), method="highs", **self._lp)
        if fit.status == 3:  # unbounded: the published counts do not bound it
            return sign * np.inf
        assert fit.status == 0, (fit.message, target, self.eq, self.le)  # truth is feasible
        return -sign * fit.fun

    def bounds(self, target):
        """The lowest and highest value of ``target`` (a mapping of name to coefficient)."""
        value = self.known(target)
        if value is not None:
            return value, value
        return self._extreme(target, -1.0), self._extreme(target, 1.0)

    def pinned(self, target, k, base):
        """Whether ``target`` is known to lie in 1..k-1 (within less than ``base``)."""
        value = self.known(target)
        if value is not None:
            return 0 < value < k
        high = self._extreme(target, 1.0)
        if high >= k - 0.5:
            return False
        low = self._extreme(target, -1.0)
        return low > 0.5 and (base is None or high - low < base)


def _attacker_system(doc, base):
    system = _System(base)
    labels = doc["bands"]["labels"]
    bands = [*labels, NO_INTAKE]
    system.published("engagements", doc["sample"]["engagements"])
    system.tie([f"clients|{b}" for b in bands], "engagements")
    intake = _rows(doc, "intake")
    for b in labels:
        system.published(f"clients|{b}", intake[b]["n"])
    system.published("intake|all", intake["all"]["n"])
    system.tie([f"clients|{b}" for b in labels], "intake|all")
    targets = []
    for measure in COUNTED:
        rows = _rows(doc, measure)
        for b in bands:
            system.published(f"{measure}|{b}", rows[b]["n"] if b in rows else None)
            system.at_most(f"{measure}|{b}", f"clients|{b}")
            targets.append({f"clients|{b}": 1.0, f"{measure}|{b}": -1.0})
        system.published(f"{measure}|all", rows["all"]["n"])
        system.tie([f"{measure}|{b}" for b in bands], f"{measure}|all")
    change = _rows(doc, "change")
    for b in labels:  # a client of an intake band with an end score has a change score
        system.published(f"end|{b}", change[b]["n"])
    system.published("end|all", doc["sample"]["with_end_score"])
    system.published("change|all", change["all"]["n"])
    system.published("change|all", doc["change"]["n"])
    system.tie([f"end|{b}" for b in labels], "change|all")
    counts = doc["change"]["counts"]
    if counts:
        for c, value in counts.items():
            system.published(f"category|{c}", value)
        system.tie([f"category|{c}" for c in counts], "change|all")
    withheld = [{name: 1.0} for name in dict.fromkeys(system.withheld)]
    return system, targets + withheld + [{"end|all": 1.0, "change|all": -1.0}]


def _margins(doc, k, base):
    system, targets = _attacker_system(doc, base)
    for target in targets:
        assert not system.pinned(target, k, base), (target, system.bounds(target))


# -- percent to count ------------------------------------------------------------------------
def _percent_to_count(doc, k, base):
    total = doc["change"]["n"]
    for category, share in doc["change"]["percentages"].items():
        if share is None or total is None:
            continue
        # the counts whose percentage of the published total rounds to the published one
        fits = [c for c in range(total + 1) if abs(round(100 * c / total, 1) - 100 * share)
                < 1e-6]
        assert fits, (category, share, total)
        low, high = min(fits), max(fits)
        if base:  # percentages come from rounded counts: the true count is within half a base
            low, high = low - base // 2, high + base // 2
        assert not (low >= 1 and high <= k - 1), (category, low, high)


# -- differencing ----------------------------------------------------------------------------
def _differencing(one, two, removed, base):
    for measure, spec in SPECS.items():
        value, span = removed[spec.column], spec.bounds[1] - spec.bounds[0]
        first, second = _rows(one, measure), _rows(two, measure)
        for band in set(first) & set(second):
            a, b = first[band], second[band]
            if a["n"] is not None and b["n"] is not None and base is None:
                assert 0 <= a["n"] - b["n"] <= 1, (measure, band)
            x, y = _sum(a, measure), _sum(b, measure)
            if x is None or y is None or base is not None or a["n"] == b["n"]:
                continue
            low, high = x[0] - y[1], x[1] - y[0]  # the removed client's score lies in here
            assert low - 1e-9 <= value <= high + 1e-9
            assert high - low >= span - 1e-9, (measure, band, low, high)


def _spread_differencing(one, two, removed, base, steps):
    """Both releases' n, means and SDs: the removed client's distance from the first mean."""
    if base is not None:
        return
    for measure, spec in SPECS.items():
        value, (low, high) = removed[spec.column], spec.bounds
        first, second = _rows(one, measure), _rows(two, measure)
        for band in set(first) & set(second):
            a, b = first[band], second[band]
            if None in (a["n"], b["n"], a["sd"], b["sd"], a["mean"]) or a["n"] != b["n"] + 1 \
                    or pd.isna(value):
                continue
            n = a["n"]
            half_a = steps[0][f"{measure}: {band} (SD)"] / 2
            half_b = steps[1][f"{measure}: {band} (SD)"] / 2
            d_low = (n - 1) * max(a["sd"] - half_a, 0) ** 2 - (n - 2) * (b["sd"] + half_b) ** 2
            d_high = (n - 1) * (a["sd"] + half_a) ** 2 - (n - 2) * max(b["sd"] - half_b, 0) ** 2
            half_m = release_step(n, span=high - low, precision=max(SPECS[measure].precision,
                                                                    0.01)) / 2
            xs = np.append(np.linspace(low, high, 801), value)
            near = np.clip(np.maximum(a["mean"] - half_m - xs, xs - a["mean"] - half_m), 0, None)
            far = np.maximum(np.abs(xs - a["mean"] + half_m), np.abs(xs - a["mean"] - half_m))
            scale = (n - 1) / n
            possible = (near ** 2 <= d_high * scale + 1e-9) & (far ** 2 >= d_low * scale - 1e-9)
            assert possible[-1], (measure, band, "the true score was ruled out")
            left = xs[possible]
            assert left.max() - left.min() >= (high - low) / 2 - 1e-9, (measure, band, n)


def _attack(table, drop, base, k):
    one, gate = _release(table, k, base)
    two, gate_two = _release(table.drop(index=drop).reset_index(drop=True), k, base,
                             with_change=False)
    steps = [{r.what: r.step for r in g.records if not r.withheld} for g in (gate, gate_two)]
    _no_small_statistic(gate, k)
    _no_small_statistic(gate_two, k)
    _all_minus_bands(one, k, base)
    _margins(one, k, base)
    _percent_to_count(one, k, base)
    _differencing(one, two, table.loc[drop], base)
    _spread_differencing(one, two, table.loc[drop], base, steps)
    intake = table["baseline"].dropna()
    for edge in one["bands"]["edges"]:
        assert (intake < edge).sum() >= k and (intake >= edge).sum() >= k


@SETTINGS
@given(studies(3))
def test_attacks_fail_with_k_3(case):
    _attack(*case, 3)


@SETTINGS
@given(studies(5))
def test_attacks_fail_with_k_5(case):
    _attack(*case, 5)


@SETTINGS
@given(studies(10))
def test_attacks_fail_with_k_10(case):
    _attack(*case, 10)


def test_the_attacker_catches_an_unprotected_release():
    # the same differencing on exact means gives the client back: the check has teeth
    table = pd.DataFrame({"x": np.arange(20, dtype=float)})
    one, two = table["x"].mean() * 20, table["x"].iloc[1:].mean() * 19
    assert abs((one - two) - table["x"].iloc[0]) < 1e-9
    # and the margins pin a count of 2 that is withheld alone
    system = _System(None)
    for name, value in (("a", 40), ("b", None), ("all", 42)):
        system.published(name, value)
    system.tie(["a", "b"], "all")
    assert system.bounds({"b": 1.0}) == (2.0, 2.0)
    assert not math.isnan(system.bounds({"a": 1.0})[0])
