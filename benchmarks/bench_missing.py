"""Time the missing-data paths on the sample (prints a table).

Targets: ``decompose(missing="mi")`` with 20 imputations and 1,000 cluster-bootstrap
replicates within 30 s, ``missing="em"`` with 1,000 replicates within 5 s. The multilevel
shares with ``missing="mi"`` (every replicate imputed and all 16 sub-models refitted) are
timed beside the listwise ones on fewer replicates. The machine's load average is printed
with the table: on a shared machine the times grow with it.

Run from the repository root:  .venv/bin/python benchmarks/bench_missing.py
"""

from __future__ import annotations

import os
import time
import warnings

import outcomes as oc

CASES = [
    ("decompose", "listwise", {}, 1000),
    ("decompose", "em", {}, 1000),
    ("decompose", "mi", {"n_imputations": 20}, 1000),
    ("multilevel_shares", "listwise", {}, 100),
    ("multilevel_shares", "mi", {"n_imputations": 5}, 100),
]


def main() -> None:
    table = oc.load_sample().analysis_table()
    rows = []
    for function, missing, extra, n_boot in CASES:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", oc.DataWarning)
            options = {"cluster": "coach_id"} if function == "decompose" else {"n_jobs": 1}
            d = getattr(oc, function)(table, "end_score", oc.FACTORS, covariates=["baseline"],
                                      missing=missing, n_boot=n_boot, seed=1, **options,
                                      **extra)
        seconds = time.perf_counter() - start
        rows.append((function, missing, extra.get("n_imputations", "-"), n_boot, d.n, seconds,
                     float(d.shares["relationship"]), float(d.shares["technique"])))
    print(f"{'function':<17} {'missing':<9} {'m':>3} {'n_boot':>6} {'n':>5} {'seconds':>8} "
          f"{'relationship':>12} {'technique':>9}")
    for function, missing, m, n_boot, n, seconds, rel, tech in rows:
        print(f"{function:<17} {missing:<9} {m!s:>3} {n_boot:>6} {n:>5} {seconds:>8.2f} "
              f"{rel:>12.4f} {tech:>9.4f}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
