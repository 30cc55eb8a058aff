"""Recovery study: do the factor-share estimators find the true shares of simulated studies?

For three generative worlds (``docs/simulation.md``), many studies of 60 coaches × 20
clients are drawn, and each estimator's relative factor shares (shares of the R² the four
factor groups explain together) are set against the truth:

- ``default``: 40/30/15/15, latent R² 0.35, coach ICC 0.05, factor correlation 0.3
  (the sample study's settings);
- ``wampold``: client factors carry most of the explained variance and technique almost none
  (70/20/8/2, factor correlation 0.15, under which a 2 % share is reachable);
- ``coach``: the default split with strong coach effects (ICC 0.15).

Two kinds of data come from each study:

- ``latent``: the latent factor scores and the true change of the draw (one column per
  factor, no covariate, no dropout) — what the estimators recover without measurement error;
- ``observed``: the study's item responses, scored into the analysis table, decomposed as a
  researcher would: ``end_score`` with the intake score ``baseline`` always in, the default
  factor map (``oc.FACTORS``: several scales per group), completers only.

The latent draw of a seed is the one :func:`outcomes.simulate_study` makes first with that
seed, so the two kinds of data describe the same clients.

Estimators: group LMG (``decompose``), dominance (general weights, ``decompose(method=
"dominance")``; they equal LMG by construction), relative weights, and the multilevel shares
(Shapley shares of the marginal R² of random-intercept models, ``multilevel_shares``), with
95 % BCa intervals from a cluster bootstrap (coaches resampled whole). The multilevel
bootstrap refits 16 mixed models per replicate, so its intervals are computed on the first
``--ml-studies`` studies of each world only; its bias and RMSE use every study. Complete
dominance is scored as the share of the six factor pairs whose designation (dominates, is
dominated, neither) matches the population's.

Run (about 10 minutes on two cores with the defaults)::

    python benchmarks/recovery_study.py                 # writes the tables into docs/recovery.md
    python benchmarks/recovery_study.py --studies 10 --ml-studies 3 --out -   # a quick look
    python benchmarks/recovery_study.py --calibrate     # outcomes.power's measurement model
    python benchmarks/recovery_study.py --part error-dropout --jobs 1   # 700 studies, 12 CPU min

``--part error-dropout`` runs the worlds with classical measurement error and with MAR
dropout (``benchmarks/_recovery_worlds.py``): observed, reliability-corrected, listwise, MI
and EM shares beside the latent truth.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import outcomes as oc
from outcomes.shares.bootstrap import Draws
from outcomes.shares.power import power
from outcomes.shares.subsets import complete_dominance, subset_r2
from outcomes.simulate.generative import FACTORS, draw_latent, generative_model

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "recovery.md"
BEGIN, END = "<!-- recovery:begin -->", "<!-- recovery:end -->"
N_COACHES, PER_COACH = 60, 20
SPLIT = {"client": 0.40, "relationship": 0.30, "expectancy": 0.15, "technique": 0.15}
WORLDS = {
    "default": dict(shares=SPLIT, r2=0.35, icc=0.05, factor_correlation=0.3),
    "wampold": dict(shares={"client": 0.70, "relationship": 0.20, "expectancy": 0.08,
                            "technique": 0.02}, r2=0.35, icc=0.05, factor_correlation=0.15),
    "coach": dict(shares=SPLIT, r2=0.35, icc=0.15, factor_correlation=0.3),
}
METHODS = {"lmg": "group LMG", "dominance": "dominance (general)",
           "relative_weights": "relative weights", "multilevel": "multilevel shares"}
PAIRS = [(i, j) for i in range(4) for j in range(i + 1, 4)]


def model_of(world: str):
    return generative_model(**WORLDS[world])


def latent_frame(world: str, seed: int) -> pd.DataFrame:
    """The latent factor scores and true change of the draw ``simulate_study(seed)`` makes."""
    draw = draw_latent(model_of(world), N_COACHES, PER_COACH, np.random.default_rng(seed))
    frame = pd.DataFrame(draw.factors, columns=list(FACTORS))
    frame["change"] = draw.change
    frame["coach_id"] = [f"C{c + 1:03d}" for c in draw.coach]
    return frame


def observed_frame(world: str, seed: int) -> pd.DataFrame:
    study = oc.simulate_study(n_coaches=N_COACHES, clients_per_coach=PER_COACH, seed=seed,
                              **WORLDS[world])
    return oc.Study(study.tables).analysis_table()


def true_dominance(world: str) -> np.ndarray:
    """Complete dominance of the population (latent factors, true change)."""
    model = model_of(world)
    cov = np.empty((5, 5))
    cov[:4, :4] = model.correlation
    cov[:4, 4] = cov[4, :4] = model.correlation @ model.coefficients
    cov[4, 4] = model.total_variance
    return complete_dominance(subset_r2(cov, [[k] for k in range(4)]))


def _relative_draws(draws: Draws, k: int) -> Draws:
    def fn(rows):
        return rows[:, :k] / rows[:, :k].sum(axis=1, keepdims=True)

    return draws.map(fn)


def analyse(frame, outcome, factors, covariates, *, boot, ml_boot, seed) -> list[dict]:
    """Relative shares with intervals by every estimator, plus complete dominance."""
    rows = []
    names = list(factors)
    for method in ("lmg", "dominance", "relative_weights"):
        d = oc.decompose(frame, outcome, factors, covariates=covariates, method=method,
                         n_boot=boot, cluster="coach_id", seed=seed)
        ci = d.ci[d.ci.quantity == "relative"].set_index("factor")
        rows += [{"method": method, "factor": f, "estimate": d.relative[f],
                  "ci_low": ci.loc[f, "ci_low"], "ci_high": ci.loc[f, "ci_high"]}
                 for f in names]
    ml = oc.multilevel_shares(frame, outcome, factors, covariates=covariates, n_boot=ml_boot,
                              seed=seed, n_jobs=1)
    relative = ml.shares[names] / ml.shares[names].sum()
    low = high = np.full(len(names), np.nan)
    if ml.draws is not None:
        low, high = _relative_draws(ml.draws, len(names)).interval("bca", 0.95)
    rows += [{"method": "multilevel", "factor": f, "estimate": relative[f], "ci_low": low[i],
              "ci_high": high[i]} for i, f in enumerate(names)]
    coach = ml.ci.set_index("part").loc["coach"] if ml.ci is not None else None
    rows.append({"method": "multilevel", "factor": "coach", "estimate": ml.shares["coach"],
                 "ci_low": np.nan if coach is None else coach.ci_low,
                 "ci_high": np.nan if coach is None else coach.ci_high})
    dom = oc.dominance(frame, outcome, factors, covariates=covariates).complete.to_numpy()
    rows.append({"method": "complete", "factor": "pairs", "estimate": dom})
    return rows


def one_study(world: str, seed: int, boot: int, ml_boot: int) -> list[dict]:
    warnings.simplefilter("ignore")
    out = []
    latent = latent_frame(world, seed)
    for row in analyse(latent, "change", {f: [f] for f in FACTORS}, [], boot=boot,
                       ml_boot=ml_boot, seed=seed):
        out.append({"world": world, "data": "latent", "seed": seed, **row})
    observed = observed_frame(world, seed)
    for row in analyse(observed, "end_score", oc.FACTORS, ["baseline"], boot=boot,
                       ml_boot=ml_boot, seed=seed):
        out.append({"world": world, "data": "observed", "seed": seed, **row})
    return out


def summarise(records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame([r for r in records if r["method"] != "complete"])
    truth = {(w, f): WORLDS[w]["shares"][f] for w in WORLDS for f in FACTORS}
    truth.update({(w, "coach"): WORLDS[w]["icc"] for w in WORLDS})
    frame["truth"] = [truth[(w, f)] for w, f in zip(frame.world, frame.factor, strict=True)]
    # the coach's share of the end score (baseline in the model) is not the ICC of change
    frame.loc[(frame.factor == "coach") & (frame.data == "observed"), "truth"] = np.nan
    frame["error"] = frame.estimate - frame.truth
    has_ci = frame.ci_low.notna()
    frame["covered"] = ((frame.ci_low <= frame.truth) & (frame.truth <= frame.ci_high)).where(
        has_ci & frame.truth.notna())
    frame["width"] = (frame.ci_high - frame.ci_low).where(has_ci)
    table = frame.groupby(["world", "data", "method", "factor"], sort=False).agg(
        truth=("truth", "first"), mean=("estimate", "mean"), bias=("error", "mean"),
        rmse=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
        coverage=("covered", "mean"), width=("width", "mean"), n=("estimate", "size"),
        n_intervals=("width", "count")).reset_index()
    dom = []
    for r in records:
        if r["method"] == "complete":
            truth_dom = true_dominance(r["world"])
            same = [r["estimate"][i, j] == truth_dom[i, j] for i, j in PAIRS]
            dom.append({"world": r["world"], "data": r["data"], "agree": np.mean(same),
                        "all": all(same)})
    dominance = pd.DataFrame(dom).groupby(["world", "data"], sort=False).agg(
        pairs_agreeing=("agree", "mean"), all_six=("all", "mean"),
        n=("agree", "size")).reset_index()
    return table, dominance


def _cell(value, digits: int = 3) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def markdown(table: pd.DataFrame, dominance: pd.DataFrame, planning: pd.DataFrame,
             settings: dict) -> str:
    lines = [BEGIN, "",
             f"Generated by `python benchmarks/recovery_study.py` ({settings['studies']} "
             f"studies of {N_COACHES} coaches × {PER_COACH} clients per world; "
             f"{settings['boot']} bootstrap replicates; multilevel intervals from the first "
             f"{settings['ml_studies']} studies with {settings['ml_boot']} replicates; "
             f"{settings['minutes']:.1f} minutes on {settings['jobs']} workers).", ""]
    for world in WORLDS:
        w = WORLDS[world]
        split = "/".join(f"{100 * v:g}" for v in w["shares"].values())
        lines += [f"### World `{world}`: {split}, ICC {w['icc']}, factor correlation "
                  f"{w['factor_correlation']}", "",
                  "| estimator | factor | truth | latent mean | bias | RMSE | coverage | "
                  "observed mean | bias | RMSE | coverage |",
                  "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        part = table[table.world == world]
        for method, label in METHODS.items():
            factors = [*FACTORS, "coach"] if method == "multilevel" else list(FACTORS)
            for f in factors:
                cells = []
                truth = np.nan
                for data in ("latent", "observed"):
                    row = part[(part.data == data) & (part.method == method) & (part.factor == f)]
                    r = row.iloc[0]
                    truth = r.truth if data == "latent" else truth
                    cells += [_cell(r["mean"]), _cell(r.bias), _cell(r.rmse),
                              _cell(r.coverage, 2)]
                lines.append(f"| {label} | {f} | {_cell(truth, 2)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["### Complete dominance", "",
              "Share of the six factor pairs whose complete-dominance designation matches the "
              "population's, and the share of studies that match on all six.", "",
              "| world | data | pairs agreeing | all six | studies |", "|---|---|--:|--:|--:|"]
    for r in dominance.itertuples():
        lines.append(f"| {r.world} | {r.data} | {r.pairs_agreeing:.2f} | {r.all_six:.2f} | "
                     f"{r.n} |")
    lines += ["", "### The planning model beside the full simulation", "",
              "Relative LMG shares that `outcomes.power` expects from many clients measured with "
              "its default reliabilities, beside the mean observed group-LMG shares above.", "",
              "| world | factor | truth | `power` population share | observed mean |",
              "|---|---|--:|--:|--:|"]
    for r in planning.itertuples():
        lines.append(f"| {r.world} | {r.factor} | {r.truth:.2f} | {r.population:.3f} | "
                     f"{r.observed:.3f} |")
    lines += ["", END]
    return "\n".join(lines)


def planning_model(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for world, w in WORLDS.items():
        p = power(**w, n_coaches=N_COACHES, clients_per_coach=PER_COACH, n_sim=2,
                     n_boot=10, seed=0, n_jobs=1).grid("population_share").iloc[0]
        for f in FACTORS:
            obs = table[(table.world == world) & (table.data == "observed")
                        & (table.method == "lmg") & (table.factor == f)]["mean"].iloc[0]
            rows.append({"world": world, "factor": f, "truth": w["shares"][f],
                         "population": p[f], "observed": obs})
    return pd.DataFrame(rows)


def calibrate(seed: int = 7, n_coaches: int = 150) -> pd.DataFrame:
    """R² of each latent factor on its group's analysis-table columns (outcomes.power)."""
    import statsmodels.api as sm

    from outcomes.simulate.tables import _coaches

    warnings.simplefilter("ignore")
    study = oc.simulate_study(n_coaches=n_coaches, clients_per_coach=PER_COACH, seed=seed)
    rng = np.random.default_rng(seed)  # replay the first draws of simulate_study
    draw = draw_latent(model_of("default"), n_coaches, PER_COACH, rng)
    _coaches(n_coaches, rng)
    order = np.argsort(rng.integers(0, 365, n_coaches * PER_COACH), kind="stable")
    latent = pd.DataFrame(draw.factors[order], columns=[f"latent_{f}" for f in FACTORS])
    latent["true_change"] = draw.change[order]
    latent["engagement_id"] = study.tables["engagements"]["engagement_id"].to_numpy()
    table = oc.Study(study.tables).analysis_table().merge(latent, on="engagement_id")
    rows = []
    for factor, columns in oc.FACTORS.items():
        d = table[[f"latent_{factor}", *columns]].dropna()
        fit = sm.OLS(d[f"latent_{factor}"], sm.add_constant(d[list(columns)])).fit()
        rows.append({"measured": factor, "r2_with_latent": fit.rsquared, "n": len(d)})
    d = table[["true_change", "change"]].dropna()
    r2 = float(np.corrcoef(d.true_change, d.change)[0, 1] ** 2)
    if r2 < 0.5:
        raise RuntimeError("observed and latent change disagree: simulate_study no longer "
                           "draws in the order this calibration replays.")
    rows.append({"measured": "outcome", "r2_with_latent": r2, "n": len(d)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=50, help="studies per world")
    parser.add_argument("--ml-studies", type=int, default=10,
                        help="studies per world with multilevel bootstrap intervals")
    parser.add_argument("--boot", type=int, default=200, help="bootstrap replicates")
    parser.add_argument("--ml-boot", type=int, default=100,
                        help="bootstrap replicates of the multilevel shares")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--seed", type=int, default=20261129, help="first study's seed")
    parser.add_argument("--out", default=str(DOC),
                        help="Markdown file whose recovery block is replaced ('-': print)")
    parser.add_argument("--calibrate", action="store_true",
                        help="print the measurement model of outcomes.power and stop")
    parser.add_argument("--part", choices=["shares", "error-dropout"], default="shares",
                        help="the estimator worlds (shares) or measurement error and dropout")
    parser.add_argument("--replications", type=int, default=200,
                        help="studies in each target world of --part error-dropout")
    args = parser.parse_args()
    if args.calibrate:
        print(calibrate().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return
    if args.part == "error-dropout":
        error_dropout(args)
        return
    from joblib import Parallel, delayed

    start = time.perf_counter()
    tasks = [(world, args.seed + i, args.boot, args.ml_boot if i < args.ml_studies else 0)
             for world in WORLDS for i in range(args.studies)]
    results = Parallel(n_jobs=args.jobs, verbose=5)(delayed(one_study)(*t) for t in tasks)
    records = [r for part in results for r in part]
    table, dominance = summarise(records)
    minutes = (time.perf_counter() - start) / 60
    settings = dict(studies=args.studies, ml_studies=args.ml_studies, boot=args.boot,
                    ml_boot=args.ml_boot, jobs=args.jobs, minutes=minutes)
    text = markdown(table, dominance, planning_model(table), settings)
    if args.out == "-":
        print(text)
        return
    write_block(Path(args.out), text, BEGIN, END)
    print(f"{args.out}: recovery tables written ({minutes:.1f} minutes)")


def write_block(out: Path, text: str, begin: str, end: str) -> None:
    """Replace the block between ``begin`` and ``end`` of ``out`` (or append it)."""
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + text + old[old.index(end) + len(end):]
    else:
        new = old + ("\n" if old else "") + text + "\n"
    out.write_text(new, encoding="utf-8")


def error_dropout(args) -> None:
    """The measurement-error and dropout worlds: run, summarise, write or print."""
    import _recovery_worlds as worlds
    from joblib import Parallel, delayed

    start = time.perf_counter()
    jobs = worlds.tasks(args.replications, args.seed)
    results = Parallel(n_jobs=args.jobs, verbose=5)(
        delayed(worlds.one_study)(w, s, args.boot) for w, s in jobs)
    records = [(w, s, r) for (w, s), rows in zip(jobs, results, strict=True) for r in rows]
    table = worlds.summarise(records)
    minutes = (time.perf_counter() - start) / 60
    text = worlds.markdown(table, dict(replications=args.replications, boot=args.boot,
                                       minutes=minutes, jobs=args.jobs))
    if args.out == "-":
        print(text)
        return
    write_block(Path(args.out), text, worlds.BEGIN, worlds.END)
    print(f"{args.out}: error and dropout tables written ({minutes:.1f} minutes)")


if __name__ == "__main__":
    main()
