"""Scale benchmark: validation, scoring, analysis table and decomposition at 1 M to 50 M rows.

A synthetic study is written to disk as Parquet parts, one simulated sub-study of 60 coaches
and 1,200 engagements (about 226,000 item-response rows) per part, ids prefixed by the part,
so that N rows are the first N / 226,000 parts. "Rows" are rows of the ``responses`` table
(item responses, most of them given at sessions), the largest table by far.

For each size and engine, one child process runs the whole flow and the parent samples the
resident memory of the child and all its descendants (the Dask workers) every 0.1 s:

- pandas: read every part into memory, :func:`outcomes.validate_tables`, :func:`score`,
  :func:`build_analysis_table`, :func:`decompose` with a 2,000-replicate coach bootstrap;
- dask: :mod:`outcomes.partitioned` on a local cluster of two worker processes (1.5 GiB each):
  validate (valid rows to Parquet), then score (with the item moments validation gathered)
  feeding the analysis table bucket by bucket, as ``outcomes decompose --engine dask`` does
  (one step, ``score + analysis table``; the table is written to Parquet), then the same
  decomposition; ``start`` and ``stop`` time the toolkit's import with the workers' start,
  and their closing.

Besides each step's wall time, a row gives the CPU seconds of the child and its workers and
the load average when it began: the machine may be shared, and CPU seconds move less.

Where the time goes at 50 M rows (221 parts), in CPU seconds per part of one worker:
validation 0.35 (the in-memory columnar checks 0.13, reading the part's tables 0.09,
writing the valid rows 0.07, problems, rejected rows and references 0.02, the CEQ's item
moments 0.01), the distinct engagement ids that let every part stay where it is 0.02, and
score + analysis table 0.22; then fixed costs (imports in the parent and each worker,
starting and closing the workers: 3 to 5 s). Each bucket task reads its own parts, so no
rows travel between the workers, and they run with the C library's own memory settings.
See ``docs/partitioned.md`` for the measured tables.

A second table compares the coach bootstrap from per-coach sums with resampling the rows of a
1 M-row table (2,000 replicates; the row path is timed on 100 replicates and scaled up).

Run: ``python benchmarks/bench_scale.py --sizes 1e6 1e7 5e7`` (generation and the runs take
a while; ``--skip-pandas-above 2e7`` leaves pandas out where it would not fit). The data go to
``--out`` (default a temporary folder) and are deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROWS_PER_PART = 226_000  # about: responses of one simulated study of 1,200 engagements
TABLES = ("coaches", "engagements", "sessions", "responses")
FACTORS = {
    "client": ["optimism", "social_support", "self_efficacy", "readiness"],
    "relationship": ["alliance", "session_rating"],
    "expectancy": ["hope_agency", "hope_pathways", "credibility", "expectancy"],
    "technique": ["adherence", "n_techniques", "sessions_attended"],
}
N_BOOT = 2000


# --- data -------------------------------------------------------------------------------

def _write_part(args: tuple[int, str]) -> int:
    index, folder = args
    from outcomes import simulate_study

    study = simulate_study(seed=10_000 + index)
    prefix = f"S{index:04d}-"
    for name in TABLES:
        frame = study.tables[name].copy()
        for column in ("coach_id", "engagement_id", "client_id"):
            if column in frame.columns:
                frame[column] = prefix + frame[column].astype(str)
        target = Path(folder) / name
        target.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(target / f"part-{index:04d}.parquet", index=False)
    return len(study.tables["responses"])


def generate(folder: Path, parts: int) -> None:
    """Write ``parts`` sub-studies (skipping those already written)."""
    todo = [(i, str(folder)) for i in range(parts)
            if not (folder / "responses" / f"part-{i:04d}.parquet").exists()]
    if not todo:
        return
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        for _ in pool.map(_write_part, todo, chunksize=1):
            pass
    print(f"generated {len(todo)} parts in {time.perf_counter() - start:.0f} s", flush=True)


def subset(folder: Path, parts: int, target: Path) -> Path:
    """A study folder that links the first ``parts`` parts of every table."""
    for name in TABLES:
        (target / name).mkdir(parents=True, exist_ok=True)
        for i in range(parts):
            link = target / name / f"part-{i:04d}.parquet"
            if not link.exists():
                link.symlink_to(folder / name / f"part-{i:04d}.parquet")
    return target


# --- the flows (run in a child process) -----------------------------------------------

def _timed(times: dict, name: str, fn):
    start = time.perf_counter()
    out = fn()
    times[name] = time.perf_counter() - start
    return out


def run_pandas(study: Path) -> dict:
    import warnings

    import outcomes as oc
    from outcomes.analysis import build_analysis_table
    from outcomes.validation.rules import validate_tables

    warnings.simplefilter("ignore")
    times: dict = {}

    def read():  # the reader the study layer uses, as outcomes.partitioned.read_table does
        from outcomes.io import read_table

        return {n: pd.concat([read_table(p, kind=n) for p in sorted((study / n).iterdir())],
                             ignore_index=True) for n in TABLES}

    tables = _timed(times, "read", read)
    rows = len(tables["responses"])
    report = _timed(times, "validate", lambda: validate_tables(tables))
    scores = _timed(times, "score", lambda: oc.score(report.valid["responses"]))
    table = _timed(times, "analysis table", lambda: build_analysis_table(
        report.valid["engagements"], report.valid["sessions"], scores))
    result = _timed(times, "decompose + bootstrap", lambda: oc.decompose(
        table, "end_score", FACTORS, covariates=["baseline"], cluster="coach_id",
        n_boot=N_BOOT, seed=1))
    return {"rows": rows, "times": times, "shares": result.shares.round(6).tolist(),
            "n": result.n, "coaches": result.n_clusters}


def _write_parts(frame, folder: Path) -> list[Path]:
    """Write each partition to its own file (empty ones too), keeping the partition order."""
    import dask

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"part-{i:05d}.parquet" for i in range(frame.npartitions)]
    writes = [dask.delayed(lambda p, path: p.to_parquet(path))(p, path)
              for p, path in zip(frame.to_delayed(), paths, strict=True)]
    dask.compute(*writes)
    return paths


def run_dask(study: Path, work: Path) -> dict:
    start = time.perf_counter()
    import warnings

    import dask.dataframe as dd

    import outcomes as oc
    from outcomes import partitioned as scale

    warnings.simplefilter("ignore")
    times: dict = {}
    with scale.client(n_workers=2, memory_limit="1.5GiB"):
        times["start"] = time.perf_counter() - start  # imports and the cluster's workers
        tables = scale.read_study(study)
        report = _timed(times, "validate", lambda: scale.validate_tables(
            tables, out=work / "validated"))
        rows = int(report.counts.set_index("table").loc["responses", "input"])

        def table():  # as the command does: the scores feed the table, bucket by bucket
            scores = scale.score(report.valid("responses"), grouped=True,
                                 item_moments=report.item_moments)
            frame = scale.analysis_table(report.valid("engagements"), report.valid("sessions"),
                                         scores, grouped=True)
            return dd.read_parquet(_write_parts(frame, work / "analysis"))

        analysis = _timed(times, "score + analysis table", table)
        result = _timed(times, "decompose + bootstrap", lambda: oc.decompose(
            analysis, "end_score", FACTORS, covariates=["baseline"], cluster="coach_id",
            n_boot=N_BOOT, seed=1))
        stopping = time.perf_counter()
    times["stop"] = time.perf_counter() - stopping  # the workers closed
    return {"rows": rows, "times": times, "shares": result.shares.round(6).tolist(),
            "n": result.n, "coaches": result.n_clusters}


# --- the bootstrap comparison -----------------------------------------------------------

def bootstrap_comparison(n_rows: int = 1_000_000, n_coaches: int = 5_000,
                         timed_rows: int = 100) -> dict:
    """Coach bootstrap of LMG shares from per-coach sums vs from resampled rows."""
    from outcomes.shares.bootstrap import bootstrap
    from outcomes.shares.design import prepare
    from outcomes.shares.metrics import share_statistic as _statistic
    from outcomes.shares.moments import Moments

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_rows, 6))
    coach = rng.integers(0, n_coaches, size=n_rows)
    y = x @ np.linspace(0.2, 1.0, 6) + rng.normal(size=n_coaches)[coach] + rng.normal(size=n_rows)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(y=y, coach=coach)
    factors = {"a": ["x0", "x1"], "b": ["x2", "x3"], "c": ["x4"], "d": ["x5"]}
    design = prepare(frame, "y", factors, cluster="coach")
    statistic = _statistic(design, "lmg")
    start = time.perf_counter()
    units = design.units(by_cluster=True)
    sums_time = time.perf_counter() - start
    start = time.perf_counter()
    bootstrap(units, statistic, n_boot=N_BOOT, seed=1, jackknife=False)
    fast = time.perf_counter() - start
    order = np.argsort(design.clusters, kind="stable")
    starts = np.flatnonzero(np.r_[True, design.clusters[order][1:] != design.clusters[order][:-1]])
    members = np.split(order, starts[1:])
    draw = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(timed_rows):
        picked = np.concatenate([members[g] for g in draw.integers(0, len(members),
                                                                   len(members))])
        statistic(Moments.from_arrays(design.matrix[picked]).cross[None])
    slow = (time.perf_counter() - start) * N_BOOT / timed_rows
    return {"rows": n_rows, "coaches": n_coaches, "per-coach sums (once)": sums_time,
            "bootstrap from sums": fast, "resampling rows (scaled)": slow,
            "speed-up": slow / (fast + sums_time)}


# --- driver -----------------------------------------------------------------------------

def measure(command: list[str]) -> tuple[dict | None, float, float, str, float]:
    """Run a child; return its JSON result, wall time, peak RSS (GiB) of its process tree,
    its error output and the CPU seconds (user + system) of the child and its workers."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = child.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers are reaped by the child
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if child.returncode == 0 and lines else None
    return result, wall, peak / 2**30, err[-2000:], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7, 5e7])
    parser.add_argument("--engines", nargs="+", default=["pandas", "dask"])
    parser.add_argument("--skip-pandas-above", type=float, default=2e7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-bootstrap-comparison", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "STUDY", "WORK"))
    args = parser.parse_args()
    if args.child:
        engine, study, work = args.child
        result = run_pandas(Path(study)) if engine == "pandas" else run_dask(Path(study),
                                                                              Path(work))
        print(json.dumps(result), flush=True)
        return
    root = args.out or Path(tempfile.mkdtemp(prefix="outcomes-bench-"))
    data = root / "parts"
    rows = []
    try:
        for size in args.sizes:
            parts = max(1, round(size / ROWS_PER_PART))
            generate(data, parts)
            study = subset(data, parts, root / f"study-{parts}")
            for engine in args.engines:
                if engine == "pandas" and size > args.skip_pandas_above:
                    continue
                work = root / f"work-{engine}-{parts}"
                shutil.rmtree(work, ignore_errors=True)
                command = [sys.executable, __file__, "--child", engine, str(study), str(work)]
                load = os.getloadavg()[0]
                result, wall, peak, err, cpu = measure(command)
                shutil.rmtree(work, ignore_errors=True)
                if result is None:
                    print(f"{engine} at {size:.0e} failed:\n{err}", flush=True)
                    continue
                row = {"rows": result["rows"], "engine": engine, **result["times"],
                       "wall (s)": wall, "CPU (s)": cpu, "peak RSS (GiB)": peak,
                       "load before": load}
                rows.append(row)
                print(json.dumps(row | {"shares": result["shares"]}), flush=True)
        order = ["rows", "engine", "read", "start", "validate", "score", "analysis table",
                 "score + analysis table", "decompose + bootstrap", "stop", "wall (s)",
                 "CPU (s)", "peak RSS (GiB)", "load before"]
        table = pd.DataFrame(rows)
        table = table[[c for c in order if c in table.columns]]
        print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
        if not args.no_bootstrap_comparison:
            comparison = bootstrap_comparison()
            print("\nCoach bootstrap, 2,000 replicates, 1 M rows:")
            print(pd.Series(comparison).to_string(float_format=lambda v: f"{v:.2f}"))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
