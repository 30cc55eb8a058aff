"""Recovery under measurement error and MAR dropout: the worlds, the estimators, the table.

Used by ``benchmarks/recovery_study.py --part error-dropout``. Each world draws studies of
60 coaches × 20 clients from the latent model of ``docs/simulation.md`` (40/30/15/15,
latent R² 0.35, coach ICC 0.05, factor correlation 0.3) through
:func:`outcomes.simulate.measured.measured_draw`:

- *measurement error*: each factor measured by six parallel items whose mean has the stated
  reliability, the change score by a measure of reliability .80; estimators: the observed
  shares, the shares corrected with the known reliabilities, and the shares corrected with
  reliabilities estimated from the items (omega, re-estimated in every bootstrap replicate);
- *MAR dropout*: factors measured without error; end scores missing with a probability that
  rises as the intake score and the observed early alliance fall; estimators: the complete
  data before dropout (the reference), listwise deletion, multiple imputation and EM.

Every estimator reports relative shares (shares of what the four factors explain together)
with 95 % BCa intervals from a cluster bootstrap (coaches resampled whole).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd

import outcomes as oc
from outcomes.simulate.generative import DEFAULT_SHARES, FACTORS, generative_model
from outcomes.simulate.measured import item_columns, measured_draw

BEGIN, END = "<!-- recovery-error-dropout:begin -->", "<!-- recovery-error-dropout:end -->"
N_COACHES, PER_COACH, N_ITEMS = 60, 20, 6
MIXED = {"client": 0.70, "relationship": 0.90, "expectancy": 0.80, "technique": 0.85}
#: world -> (kind, setting, share of the replications it gets)
WORLDS = {
    "reliability .80": ("error", dict.fromkeys(FACTORS, 0.80), 1.0),
    "reliability .70–.90": ("error", MIXED, 0.5),
    "dropout 20 %": ("dropout", 0.20, 0.5),
    "dropout 30 %": ("dropout", 0.30, 1.0),
    "dropout 40 %": ("dropout", 0.40, 0.5),
}
LABELS = {"observed": "observed scores", "known": "corrected, known reliabilities",
          "estimated": "corrected, omega from the items", "complete": "complete data (no dropout)",
          "listwise": "listwise deletion", "mi": "multiple imputation", "em": "EM (ML covariance)"}
ONE_EACH = {f: [f] for f in FACTORS}
TRUTH = np.array([DEFAULT_SHARES[f] for f in FACTORS])


def has_missing() -> bool:
    """Whether ``decompose`` takes ``missing=`` (the MI and EM rows need it)."""
    return "missing" in inspect.signature(oc.decompose).parameters


def _relative(d, estimator: str) -> dict:
    ci = d.ci[d.ci.quantity == "relative"].set_index("factor")
    return {"estimator": estimator, "estimate": d.relative[list(FACTORS)].to_numpy(),
            "low": ci.loc[list(FACTORS), "ci_low"].to_numpy(),
            "high": ci.loc[list(FACTORS), "ci_high"].to_numpy()}


def one_study(world: str, seed: int, boot: int) -> list[dict]:
    """Every estimator of one world on one drawn study."""
    warnings.simplefilter("ignore")
    kind, setting, _ = WORLDS[world]
    model = generative_model(shares=DEFAULT_SHARES, r2=0.35, icc=0.05, factor_correlation=0.3)
    rng = np.random.default_rng(seed)
    common = dict(n_boot=boot, cluster="coach_id", seed=seed)
    rows = []
    if kind == "error":
        frame = measured_draw(model, N_COACHES, PER_COACH, rng, reliability=setting,
                              n_items=N_ITEMS, outcome_reliability=0.8)
        items = {f: item_columns(f, N_ITEMS) for f in FACTORS}
        for estimator, extra in (("observed", {}), ("known", {"reliability": setting}),
                                 ("estimated", {"reliability": "estimate", "items": items})):
            d = oc.decompose(frame, "change", ONE_EACH, **common, **extra)
            rows.append(_relative(d, estimator))
        return rows
    frame = measured_draw(model, N_COACHES, PER_COACH, rng, dropout=setting)
    complete = frame.assign(end_score=frame["end_score_complete"])
    used = ["coach_id", *FACTORS, "baseline", "end_score"]
    rows.append(_relative(oc.decompose(complete[used], "end_score", ONE_EACH,
                                       covariates=["baseline"], **common), "complete"))
    methods = ("listwise", "mi", "em") if has_missing() else ("listwise",)
    for method in methods:
        extra = {"missing": method} if method != "listwise" else {}
        d = oc.decompose(frame[used], "end_score", ONE_EACH, covariates=["baseline"],
                         **common, **extra)
        rows.append(_relative(d, method))
    return rows


def tasks(replications: int, seed: int) -> list[tuple[str, int]]:
    """(world, seed) of every study; each world draws its own studies."""
    return [(world, seed + 10_000 * w + i) for w, (world, (_, _, part)) in
            enumerate(WORLDS.items()) for i in range(max(1, round(part * replications)))]


def summarise(records: list[tuple[str, int, dict]]) -> pd.DataFrame:
    rows = []
    for world, seed, r in records:
        for k, factor in enumerate(FACTORS):
            rows.append({"world": world, "seed": seed, "estimator": r["estimator"],
                         "factor": factor, "truth": TRUTH[k], "estimate": r["estimate"][k],
                         "covered": float(r["low"][k] <= TRUTH[k] <= r["high"][k]),
                         "width": r["high"][k] - r["low"][k]})
    frame = pd.DataFrame(rows)
    frame["error"] = frame["estimate"] - frame["truth"]
    return frame.groupby(["world", "estimator", "factor"], sort=False).agg(
        truth=("truth", "first"), bias=("error", "mean"),
        rmse=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
        coverage=("covered", "mean"), width=("width", "mean"),
        n=("estimate", "size")).reset_index()


def markdown(table: pd.DataFrame, settings: dict) -> str:
    lines = [BEGIN, "",
             f"Generated by `python benchmarks/recovery_study.py --part error-dropout` "
             f"({settings['replications']} studies of {N_COACHES} coaches × {PER_COACH} clients "
             "in the two target worlds, half as many in the others; "
             f"{settings['boot']} bootstrap replicates; {settings['minutes']:.1f} minutes on "
             f"{settings['jobs']} worker{'s' * (settings['jobs'] != 1)}). Truth: "
             + "/".join(f"{100 * v:g}" for v in TRUTH) + " (relative shares).", ""]
    header = " | ".join(f"{f} bias | {f} coverage" for f in FACTORS)
    for world in WORLDS:
        part = table[table.world == world]
        if part.empty:
            continue
        n = int(part.n.iloc[0])
        lines += [f"### {world} ({n} studies)", "", f"| estimator | {header} | mean width |",
                  "|---|" + "--:|" * (2 * len(FACTORS) + 1)]
        for estimator in dict.fromkeys(part.estimator):
            rows = part[part.estimator == estimator].set_index("factor").loc[list(FACTORS)]
            cells = " | ".join(f"{r.bias:+.3f} | {r.coverage:.2f}" for r in rows.itertuples())
            lines.append(f"| {LABELS[estimator]} | {cells} | {rows.width.mean():.3f} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)
