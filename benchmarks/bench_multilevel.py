"""Benchmark of the multilevel shares: the exact profiled likelihood against MixedLM.

Run from the project's root:

    python benchmarks/bench_multilevel.py              # per-fit table, shares, bootstrap
    python benchmarks/bench_multilevel.py --coverage   # also the ICC-interval coverage study
    python benchmarks/bench_multilevel.py --coverage --studies 1000 --boot 0

On the bundled sample study (end_score, the default factor map, baseline always in) it
prints, for each of the 16 sub-models of the Shapley split, the time of one fit by the
profiled likelihood and by statsmodels' MixedLM (with the optimiser retries of
``outcomes.mixed.mixedlm.fit_mixedlm``) and the largest difference between their fixed
effects and marginal R²; then the largest difference between the shares of the two paths;
then the wall time of the whole cluster bootstrap (coaches resampled whole, every
sub-model refitted in every replicate) on all cores and on one.

``--coverage`` draws 100 studies (60 coaches of 20 clients, the outcome a coach random
intercept plus noise) for each true coach ICC of 0.05 and 0.15, and counts how often the
95 % profile-likelihood interval of the ICC from ``multilevel(..., factors=[])`` covers the
truth.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

from outcomes.analysis import FACTORS
from outcomes.mixed.design import prepare, variance_parts
from outcomes.mixed.fit import multilevel
from outcomes.mixed.likelihood import fit_profiled
from outcomes.mixed.mixedlm import fit_mixedlm
from outcomes.mixed.shares import multilevel_shares
from outcomes.sample import load_sample

N_BOOT = 500
TARGET = 60.0


def per_fit_table(table: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = prepare(table, "end_score", FACTORS, covariates=["baseline"])
    players = [design.columns_of(cols) for cols in FACTORS.values()]
    always = design.columns_of(["baseline"])
    stats = design.stats()
    rows = []
    for mask in range(2 ** len(players)):
        terms = always + [t for j, p in enumerate(players) if mask >> j & 1 for t in p]
        start = time.perf_counter()
        for _ in range(5):
            fast = fit_profiled(stats, terms)
        fast_time = (time.perf_counter() - start) / 5
        X = np.column_stack([np.ones(design.n), design.X[:, terms]])
        start = time.perf_counter()
        slow = fit_mixedlm(design.y, X, design.groups)
        slow_time = time.perf_counter() - start
        parts = variance_parts(design, slow, terms, [])
        slow_r2 = (parts["f1"] + parts["f2"]) / sum(parts.values())
        rows.append({
            "groups": "+".join(n[:4] for j, n in enumerate(FACTORS) if mask >> j & 1) or "-",
            "terms": len(terms),
            "profiled_ms": 1000 * fast_time,
            "mixedlm_ms": 1000 * slow_time,
            "speed-up": slow_time / fast_time,
            "mixedlm_optimiser": slow.optimizer,
            "max|d coef|": float(np.abs(fast.coef[0] - slow.coef).max()),
            "|d r2m|": abs(float(fast.r2_marginal()[0]) - slow_r2),
            "d loglik": float(fast.loglik[0] - slow.loglik),
        })
    frame = pd.DataFrame(rows)
    return frame, float(frame.mixedlm_ms.sum() / 1000)


def coverage(n_studies: int = 100) -> pd.DataFrame:
    rows = []
    for icc in (0.05, 0.15):
        hits, widths = 0, []
        start = time.perf_counter()
        for seed in range(n_studies):
            rng = np.random.default_rng([20261129, seed, int(icc * 100)])
            coach = np.repeat(np.arange(60), 20)
            y = np.sqrt(icc) * rng.normal(size=60)[coach] + np.sqrt(1 - icc) * rng.normal(
                size=coach.size)
            fit = multilevel(pd.DataFrame({"coach_id": coach, "y": y}), "y", [])
            low, high = fit.icc_interval
            hits += low <= icc <= high
            widths.append(high - low)
        rows.append({"true_icc": icc, "studies": n_studies, "covered": hits,
                     "coverage": hits / n_studies, "mean_width": float(np.mean(widths)),
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coverage", action="store_true", help="run the coverage study")
    parser.add_argument("--boot", type=int, default=N_BOOT, help="bootstrap replicates")
    parser.add_argument("--studies", type=int, default=100, help="studies per true ICC")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    table = load_sample().analysis_table()
    print(f"Sample study: {len(table)} engagements, {table.coach_id.nunique()} coaches; "
          f"{os.cpu_count()} cores.\n")
    frame, mixedlm_total = per_fit_table(table)
    print("One fit per sub-model (profiled: mean of 5 runs; MixedLM: one run):")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = multilevel_shares(table, "end_score", FACTORS, covariates=["baseline"])
        slow = multilevel_shares(table, "end_score", FACTORS, covariates=["baseline"],
                                 solver="statsmodels")
        both = pd.DataFrame({"profiled": fast.shares, "mixedlm": slow.shares})
        both["difference"] = both.profiled - both.mixedlm
        print("\nShares, profiled likelihood vs MixedLM for every sub-model:")
        print(both.to_string(float_format=lambda v: f"{v:.10f}"))
        gap = float(both.difference.abs().max())
        print(f"largest difference {gap:.2e} ({'within' if gap <= 1e-6 else 'ABOVE'} 1e-6)")
        timings = []
        for n_jobs in (None, 1):
            start = time.perf_counter()
            boot = multilevel_shares(table, "end_score", FACTORS, covariates=["baseline"],
                                     n_boot=args.boot, seed=1, n_jobs=n_jobs)
            timings.append(time.perf_counter() - start)
    label = {0: f"all cores ({os.cpu_count()})", 1: "one core"}
    print(f"\nCluster bootstrap, {args.boot} replicates x 16 sub-models "
          f"({args.boot * 16} fits) plus {16 * table.coach_id.nunique()} jackknife fits:")
    for i, seconds in enumerate(timings):
        verdict = "within" if seconds <= TARGET else "ABOVE"
        print(f"  profiled likelihood, {label[i]}: {seconds:6.1f} s ({verdict} the "
              f"{TARGET:.0f} s target)")
    print(f"  MixedLM, estimated from the fits above: {mixedlm_total * args.boot:6.0f} s "
          f"({mixedlm_total:.2f} s per replicate)")
    print("\n" + boot.summary())
    if args.coverage:
        print("\nCoverage of the 95 % profile-likelihood interval of the coach ICC:")
        print(coverage(args.studies).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
