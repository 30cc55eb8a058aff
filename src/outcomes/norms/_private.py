"""Differentially private norms: the distributions released with OpenDP, budget by statistic.

``build_norms(..., privacy="dp", epsilon=E)`` releases the distributions of a norms file (the
intake band edges, and for every measure and band the count, mean, SD and quantiles) with
pure ``epsilon``-differential privacy (Dwork & Roth 2014), the unit of privacy being one
engagement (the norms keep one engagement per client, so one engagement is one client):

- **band edges** -- private quantiles of the intake score (the exponential mechanism over
  whole points, OpenDP's quantile scores and noisy max);
- **counts** -- the Laplace mechanism (discrete, on whole numbers) on each band's count;
- **means** -- the Laplace mechanism on the band's sum of scores clamped to the instrument's
  bounds (from the registry), divided by the private count;
- **SDs** -- the Laplace mechanism on the sum of squared distances from the middle of the
  measure's range, combined with the private sum and count;
- **quantiles** -- a histogram of each band (bins of the measure's precision or a fortieth
  of its range) with discrete Laplace noise on every bin; the quantiles are read from its
  running total;
- **sample counts** -- engagements and coaches: Laplace.

A client is in exactly one band, so the bands of one statistic share its budget (parallel
composition); the statistics add up (sequential composition) to ``epsilon``. The ``all`` row
comes from the bands' (the sums of their counts, sums and histograms: post-processing, no
budget). Every number is then
rounded and rows whose private count is under ``k`` are withheld: post-processing, which keeps
the guarantee. The model parts are withheld: the guarantee does not cover them.

Without a seed the noise comes from OpenDP's samplers (what a real release must use). With a
seed, the same mechanisms (OpenDP's calibration, privacy maps and scores) draw their noise
from NumPy, so that tests repeat; the file then says the release is for testing only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import UsageError
from outcomes.norms._release import NO_INTAKE, QUANTILES, Measure, band_index, measures

__all__ = ["SPLIT", "WITHIN", "private_parts", "check_epsilon"]

#: How the budget is split: band edges, the sample counts, the measures (shared equally).
SPLIT = {"band edges": 0.1, "sample counts": 0.05, "measures": 0.85}
#: How a measure's budget is split among its statistics.
WITHIN = {"count": 0.15, "mean": 0.3, "sd": 0.2, "quantiles": 0.35}
#: The sample counts released (the other two of a norms file's sample are withheld).
SAMPLE = ("engagements", "coaches")
MODEL_PARTS = ("case_mix", "severity_reference", "coach_effects", "factor_shares",
               "trajectories")
NOT_COVERED = ("not released under differential privacy: the guarantee of these norms covers "
               "the distributions only (norms made with --privacy rules hold this part)")


def check_epsilon(epsilon: Any, caller: str = "build_norms") -> float:
    """``epsilon`` as a float once it is a positive, finite number."""
    if epsilon is None:
        raise UsageError(f"{caller}: privacy=\"dp\" needs epsilon, the privacy budget (e.g. "
                         "1.0; smaller is more private and noisier).")
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) \
            or not np.isfinite(epsilon) or epsilon <= 0:
        raise UsageError(f"{caller}: epsilon must be a positive number (e.g. 1.0), not "
                         f"{epsilon!r}.")
    return float(epsilon)


def _dp() -> Any:
    try:
        import opendp.prelude as dp
    except ImportError:  # pragma: no cover - the dp extra is part of the install
        raise UsageError("differentially private norms need OpenDP: pip install "
                         "'outcomes[dp]'.") from None
    dp.enable_features("contrib")
    return dp


def _space() -> tuple[Any, Any]:
    dp = _dp()
    return dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()


@lru_cache(maxsize=512)
def _laplace(kind: str, span: float, epsilon: float) -> tuple[Any, float, float]:
    """The OpenDP measurement of a count, of a sum of values in ``[0, span]``, or of a
    histogram of ``span`` bins, calibrated to ``epsilon``: (measurement, scale, epsilon it
    spends)."""
    dp = _dp()
    space = _space()
    bins = (dp.vector_domain(dp.atom_domain(T=int)), dp.symmetric_distance())

    def chain(scale: float) -> Any:
        if kind == "count":
            return space >> dp.t.then_count() >> dp.m.then_laplace(scale)
        if kind == "histogram":
            return bins >> dp.t.then_count_by_categories(
                categories=list(range(int(span))), null_category=False) \
                >> dp.m.then_laplace(scale)
        return space >> dp.t.then_clamp((0.0, span)) >> dp.t.then_sum() >> dp.m.then_laplace(
            scale)

    scale = dp.binary_search_param(chain, d_in=1, d_out=epsilon, T=float)
    made = chain(scale)
    return made, float(scale), float(made.map(1))


@lru_cache(maxsize=512)
def _quantile(candidates: tuple[float, ...], alpha: float, epsilon: float
              ) -> tuple[Any, Any, float, float]:
    """OpenDP's quantile scores and the noisy-max selection over them, calibrated to
    ``epsilon``: (scores, measurement, scale, epsilon it spends)."""
    dp = _dp()
    scores = _space() >> dp.t.then_quantile_score_candidates(list(candidates), alpha)

    def chain(scale: float) -> Any:
        return scores >> dp.m.then_noisy_max(dp.max_divergence(), scale, negate=True)

    scale = dp.binary_search_param(chain, d_in=1, d_out=epsilon, T=float)
    made = chain(scale)
    return scores, made, float(scale), float(made.map(1))


@dataclass
class _Releaser:
    """Runs each mechanism on one group of values and books the budget it spends."""

    rng: np.random.Generator | None
    spent: dict[tuple[str, str, str], dict[float, float]] = field(default_factory=dict)

    def _book(self, statistic: str, measure: str, bands: str, epsilon: float,
              part: float = 0.0) -> None:
        """Bands of one statistic share its budget (the largest counts); the parts of one
        statistic (the quantiles of several levels) add up."""
        parts = self.spent.setdefault((statistic, measure, bands), {})
        parts[part] = max(parts.get(part, 0.0), epsilon)

    def count(self, x: np.ndarray, epsilon: float, book: tuple[str, str, str]) -> float:
        made, scale, spent = _laplace("count", 0.0, epsilon)
        self._book(*book, spent)
        if self.rng is None:
            return float(made(list(map(float, x))))
        return float(len(x) + self._geometric(scale, 1)[0])

    def _geometric(self, scale: float, size: int) -> np.ndarray:
        """Discrete Laplace noise (a difference of two geometric draws), as OpenDP adds."""
        assert self.rng is not None
        p = 1.0 - np.exp(-1.0 / scale)
        return self.rng.geometric(p, size) - self.rng.geometric(p, size)

    def histogram(self, bins: np.ndarray, n_bins: int, epsilon: float,
                  book: tuple[str, str, str]) -> np.ndarray:
        made, scale, spent = _laplace("histogram", float(n_bins), epsilon)
        self._book(*book, spent)
        if self.rng is None:
            return np.asarray(made([int(b) for b in bins]), dtype=float)
        counts = np.bincount(bins.astype(int), minlength=n_bins)[:n_bins]
        return (counts + self._geometric(scale, n_bins)).astype(float)

    def total(self, x: np.ndarray, span: float, epsilon: float, book: tuple[str, str, str]
              ) -> float:
        made, scale, spent = _laplace("sum", span, epsilon)
        self._book(*book, spent)
        if self.rng is None:
            return float(made(list(map(float, x))))
        return float(np.clip(x, 0.0, span).sum() + self.rng.laplace(0.0, scale))

    def quantile(self, x: np.ndarray, candidates: tuple[float, ...], alpha: float,
                 epsilon: float, book: tuple[str, str, str]) -> float:
        scores, made, scale, spent = _quantile(candidates, alpha, epsilon)
        self._book(*book, spent, part=alpha)
        data = list(map(float, x))
        if self.rng is None:
            return candidates[int(made(data))]
        values = -np.asarray(scores(data), dtype=float)
        return candidates[int(np.argmax(values + self.rng.exponential(scale, values.size)))]


def _grid(spec: Measure, step: float | None = None) -> tuple[float, ...]:
    low, high = spec.bounds
    step = step or max(spec.precision, (high - low) / 400)
    return tuple(float(v) for v in np.round(np.arange(low, high + step / 2, step), 10))


def _edges(intake: np.ndarray, bands: int, spec: Measure, epsilon: float, out: _Releaser
           ) -> list[float]:
    cuts = [out.quantile(intake, _grid(spec, 1.0), i / bands, epsilon / (bands - 1),
                         ("band edge", "intake", "all")) for i in range(1, bands)]
    inner = sorted({c for c in cuts if spec.bounds[0] < c < spec.bounds[1]})
    return [float(c) for c in inner]


def _labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all intakes"]
    labels = [f"below {edges[0]:g}"]
    labels += [f"{a:g} to below {b:g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [*labels, f"{edges[-1]:g} or above"]


def _bins(spec: Measure) -> tuple[float, int]:
    """The histogram of a measure: bin width (its precision, or a fortieth of its range when
    that is coarser) and number of bins."""
    low, high = spec.bounds
    width = max(spec.precision, (high - low) / 40)
    return width, int(round((high - low) / width))


def _release_band(x: np.ndarray, spec: Measure, eps: dict[str, float], out: _Releaser
                  ) -> np.ndarray:
    """Private count, sum of (x - low), sum of (x - middle)² and histogram of one band."""
    low, high = spec.bounds
    half = (high - low) / 2
    x = np.clip(x, low, high)
    n = out.count(x, eps["count"], ("count", spec.name, "each band"))
    total = out.total(x - low, high - low, eps["mean"], ("sum (mean)", spec.name, "each band"))
    squares = out.total((x - low - half) ** 2, half ** 2, eps["sd"],
                        ("sum of squares (SD)", spec.name, "each band"))
    width, n_bins = _bins(spec)
    index = np.minimum(np.floor((x - low) / width + 1e-9), n_bins - 1)
    counts = out.histogram(index, n_bins, eps["quantiles"],
                           ("histogram (quantiles)", spec.name, "each band"))
    return np.array([n, total, squares, *counts])


def _quantiles(counts: np.ndarray, spec: Measure) -> dict[str, float | None]:
    """Quantiles read from a noisy histogram: the upper edge of the first bin whose running
    total (made non-decreasing) reaches the level."""
    width, _ = _bins(spec)
    running = np.maximum.accumulate(np.cumsum(counts))
    whole = running[-1]
    if whole <= 0:
        return {f"{q:g}": None for q in QUANTILES}
    edges = spec.bounds[0] + width * np.arange(1, counts.size + 1)
    out: dict[str, float | None] = {}
    for q in QUANTILES:
        at = min(int(np.searchsorted(running, q * whole, side="left")), counts.size - 1)
        out[f"{q:g}"] = round(float(min(edges[at], spec.bounds[1])), 10)
    return out


def _row(band: str, spec: Measure, released: np.ndarray, k: int) -> dict[str, Any]:
    low, high = spec.bounds
    half = (high - low) / 2
    n, total, squares = released[:3]
    count = max(int(round(n)), 0)
    if count < k:
        return {"band": band, "measure": spec.name, "n": None, "mean": None, "sd": None,
                "quantiles": {}}
    centred = min(max(total / count, 0.0), high - low) - half
    variance = max(squares / count - centred ** 2, 0.0) * count / max(count - 1, 1)
    digits = max(0, int(round(-np.log10(max(spec.precision, 0.01)))))
    return {"band": band, "measure": spec.name, "n": count,
            "mean": round(float(low + half + centred), digits),
            "sd": round(float(min(np.sqrt(variance), half)), digits),
            "quantiles": _quantiles(released[3:], spec)}


def _measure_rows(table: pd.DataFrame, band: pd.Series, labels: list[str], spec: Measure,
                  epsilon: float, k: int, out: _Releaser) -> list[dict[str, Any]]:
    eps = {name: epsilon * share for name, share in WITHIN.items()}
    groups = labels if spec.name in ("intake", "change") else [*labels, NO_INTAKE]
    values = pd.to_numeric(table[spec.column], errors="coerce")
    released = {b: _release_band(values[band == b].dropna().to_numpy(dtype=float), spec,
                                 eps, out) for b in groups}
    whole = np.sum(list(released.values()), axis=0)
    return [_row("all", spec, whole, k), *(_row(b, spec, r, k) for b, r in released.items())]


def _sample(table: pd.DataFrame, epsilon: float, out: _Releaser) -> dict[str, Any]:
    each = epsilon / len(SAMPLE)
    coaches = table["coach_id"].astype(str).nunique()
    units = {"engagements": np.ones(len(table)), "coaches": np.ones(coaches)}
    released: dict[str, Any] = {
        name: max(int(round(out.count(units[name], each, ("count", name, "all")))), 0)
        for name in SAMPLE}
    return {**released, "coaches_with_k_clients": None, "excluded_no_consent": None}


def private_parts(table: pd.DataFrame, epsilon: Any, *, k: int, bands: int = 4,
                  seed: Any = None) -> dict[str, Any]:
    """The sections of a differentially private norms file (all but the head).

    ``table`` is the analysis table with one engagement per client; ``seed`` (testing only)
    draws the noise from NumPy instead of OpenDP's samplers.
    """
    epsilon = check_epsilon(epsilon)
    rng = None if seed is None else np.random.default_rng(seed)
    out = _Releaser(rng)
    specs = {name: spec for name, spec in measures().items() if spec.column in table}
    intake = pd.to_numeric(table["baseline"], errors="coerce").dropna().to_numpy(dtype=float)
    edges = _edges(intake, bands, specs["intake"], epsilon * SPLIT["band edges"], out) \
        if bands > 1 else []
    labels = _labels(edges)
    band = band_index(table["baseline"], edges, labels)
    each = epsilon * SPLIT["measures"] / len(specs)
    distributions = [row for spec in specs.values()
                     for row in _measure_rows(table, band, labels, spec, each, k, out)]
    sample = _sample(table, epsilon * SPLIT["sample counts"], out)
    end = next((d["n"] for d in distributions if d["band"] == "all" and d["measure"] == "end"),
               None)
    change = next((d["n"] for d in distributions
                   if d["band"] == "all" and d["measure"] == "change"), None)
    sample["with_end_score"] = end
    return {"bands": {"measure": "intake", "edges": edges, "labels": labels,
                      "missing": NO_INTAKE},
            "distributions": distributions, "sample": sample,
            "change": {"n": change, "counts": {}, "percentages": {}, "effect_sizes": {},
                       "withheld": "the change categories are " + NOT_COVERED},
            **{name: {"withheld": "The model is " + NOT_COVERED + "."} for name in MODEL_PARTS},
            "privacy": _statement(epsilon, k, out, seeded=seed is not None)}


def _statement(epsilon: float, k: int, out: _Releaser, *, seeded: bool) -> dict[str, Any]:
    mechanisms = {"count": "Laplace (discrete)", "sum (mean)": "Laplace",
                  "sum of squares (SD)": "Laplace",
                  "histogram (quantiles)": "Laplace (discrete) on every bin",
                  "band edge": "exponential (noisy max)"}
    budget = [{"statistic": s, "measure": m, "bands": b, "epsilon": round(e, 12),
               "mechanism": mechanisms[s]} for (s, m, b), e in
              ((key, sum(parts.values())) for key, parts in out.spent.items())]
    noise = ("The noise was drawn from a fixed seed: these norms are for testing only and "
             "must not be published (a real release runs without a seed, so that OpenDP's "
             "own samplers draw the noise; never reuse a seed)." if seeded else
             "The noise was drawn by OpenDP's samplers.")
    spent = sum(sum(parts.values()) for parts in out.spent.values())
    return {"method": "dp", "k": k, "base": None, "epsilon": epsilon, "delta": 0.0,
            "library": f"OpenDP {_version()}", "seeded": seeded,
            "neighbours": ("two studies that differ by one engagement (added or removed); "
                           "the norms keep one engagement per client, so one engagement is "
                           "one client"),
            "covered": ["bands", "distributions", "sample"],
            "not_covered": [*MODEL_PARTS, "change categories and effect sizes"],
            "null": ("A null number is withheld: its band's private count is under k (a "
                     "rule applied to the noisy numbers, so it costs no privacy), or the part "
                     "is not covered by the guarantee."),
            "guarantee": (
                f"Pure differential privacy with epsilon = {epsilon:g} (delta = 0) for the band "
                "edges, the distributions by band (count, mean, SD, quantiles) and the sample "
                "counts: whether or not any one engagement is in the study changes the "
                f"probability of any release by a factor of at most e^{epsilon:g}. The budget "
                f"spent by each statistic is listed (they add up to {spent:.6g}); bands share "
                "a statistic's budget because a client is in one band only. Scores are "
                "clamped to the instrument's range. The model parts are withheld. " + noise),
            "budget": budget}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opendp")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"
