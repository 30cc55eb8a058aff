"""Time the missing-data paths of ``decompose`` on the sample (prints a table).

Targets: ``missing="mi"`` with 20 imputations and 1,000 cluster-bootstrap replicates within
30 s, ``missing="em"`` with 1,000 replicates within 5 s.

Run from the repository root:  .venv/bin/python benchmarks/bench_missing.py
"""

from __future__ import annotations

import time
import warnings

import outcomes as oc

CASES = [
    ("listwise", {}, 1000),
    ("em", {}, 1000),
    ("mi", {"n_imputations": 20}, 1000),
]


def main() -> None:
    table = oc.load_sample().analysis_table()
    rows = []
    for missing, extra, n_boot in CASES:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", oc.DataWarning)
            d = oc.decompose(table, "end_score", oc.FACTORS, covariates=["baseline"],
                             missing=missing, n_boot=n_boot, cluster="coach_id", seed=1,
                             **extra)
        seconds = time.perf_counter() - start
        rows.append((missing, extra.get("n_imputations", "-"), n_boot, d.n, seconds,
                     float(d.shares["relationship"]), float(d.shares["technique"])))
    print(f"{'missing':<9} {'m':>3} {'n_boot':>6} {'n':>5} {'seconds':>8} "
          f"{'relationship':>12} {'technique':>9}")
    for missing, m, n_boot, n, seconds, rel, tech in rows:
        print(f"{missing:<9} {m!s:>3} {n_boot:>6} {n:>5} {seconds:>8.2f} {rel:>12.4f} "
              f"{tech:>9.4f}")


if __name__ == "__main__":
    main()
