"""What differential privacy costs a coach's benchmark at the sample's size.

For each epsilon, private norms of the bundled sample are released ``REPEATS`` times (seeded
noise, so the table repeats) and compared with the exact numbers: the error of a band's mean
change (the typical band of about 220 clients) and the error of a coach's percentile (the
place of coach C010's median session rating among the body's clients, read from the norms'
quantiles as the benchmark reads it). Prints a markdown table for ``docs/privacy.md``.

Run: ``python benchmarks/bench_dp.py`` (about a minute per epsilon on two cores).
"""

from __future__ import annotations

import warnings

import numpy as np

import outcomes as oc
from outcomes.benchmarking.compare import _percentile_in
from outcomes.norms import build_norms
from outcomes.norms.build import _one_per_client

EPSILONS = (0.5, 1.0, 2.0, 5.0, 10.0)
REPEATS = 20
COACH = "C010"


def _entry(doc, band, measure):
    return next(d for d in doc["distributions"] if d["band"] == band and d["measure"] == measure)


def main() -> None:
    sample = oc.load_sample()
    table = _one_per_client(sample, sample.analysis_table())
    exact = build_norms(sample, n_boot=0, seed=1, base=None).document
    band = exact["bands"]["labels"][1]
    rows = table[(table["baseline"] >= exact["bands"]["edges"][0])
                 & (table["baseline"] < exact["bands"]["edges"][1])]
    truth_mean = float(rows["change"].mean())
    mine = table.loc[table["coach_id"].astype(str) == COACH, "session_rating"].median()
    ratings = table["session_rating"].dropna()
    truth_place = 100 * float((ratings < mine).mean())
    print(f"band {band!r}: {int(rows['change'].notna().sum())} clients with a change score, "
          f"true mean change {truth_mean:.2f}; coach {COACH}'s median session rating "
          f"{mine:.1f} is at the {truth_place:.0f}th percentile of the body's clients\n")
    print("| epsilon | error of the band's mean change (points, median / 90th pct) "
          "| error of the coach's percentile (points, median / 90th pct) |")
    print("|---|---|---|")
    for epsilon in EPSILONS:
        mean_errors, place_errors = [], []
        for seed in range(REPEATS):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                doc = build_norms(sample, n_boot=0, seed=1000 + seed, privacy="dp",
                                  epsilon=epsilon).document
            labels = doc["bands"]["labels"]
            # the band holding the same clients when the private edges moved: the second one
            entry = _entry(doc, labels[min(1, len(labels) - 1)], "change")
            if entry["mean"] is not None:
                mean_errors.append(abs(entry["mean"] - truth_mean))
            place = _percentile_in(float(mine), _entry(doc, "all", "session_rating"))
            place_errors.append(abs((place if place is not None else 100.0) - truth_place))
        print(f"| {epsilon:g} | {np.median(mean_errors):.2f} / {np.quantile(mean_errors, .9):.2f}"
              f" | {np.median(place_errors):.0f} / {np.quantile(place_errors, .9):.0f} |")


if __name__ == "__main__":
    main()
