"""Benchmark of reading and validating a study, against the speed of the CSV parser.

Run from the project's root:

    python benchmarks/bench_ingest.py                          # simulates a study in /tmp first
    python benchmarks/bench_ingest.py --clients-per-coach 100  # the larger study
    python benchmarks/bench_ingest.py --study /tmp/study       # a study folder of CSV files

The default study is the size of the one the acceptance targets are set for:
``outcomes simulate --n-coaches 200 --clients-per-coach 45 --seed 1`` (200 coaches, 9,000
engagements, about 66,000 sessions and 1.7 M item responses, 61 MB of CSV), written to a
temporary folder and deleted afterwards unless ``--keep``. ``--clients-per-coach 100`` makes
one twice as large (20,000 engagements, 3.8 M item responses, 139 MB), where the fixed costs
weigh less.

Each measurement runs in its own child process, so that the memory of one step does not
hide the peak of the next, and prints one table:

- ``pandas.read_csv`` of the four files with the C engine and default options: the speed of
  the parser, the yardstick of the other steps, and the size of the frames it loads;
- ``read_study``, ``validate``, ``scores`` and ``analysis_table`` of the same study, each
  timed, their sum, and the sum as a multiple of ``read_csv`` (the target is at most 8);
- the peak resident memory of that child above its memory after the imports, as a multiple
  of the size of the frames ``read_csv`` loads (the target is at most 4);
- ``outcomes validate`` as a whole process, as a user runs it (the target is 4 s), with its
  peak resident memory.

Times are wall-clock seconds, the best of ``--repeat`` runs for the in-process steps, with
the CPU seconds of the same runs beside them (Arrow reads on every core, so a step may take
more CPU than wall time). On a machine shared with other work, quote the ratios, which come
from one run, and decide with the CPU seconds, which other work disturbs less.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("coaches", "engagements", "sessions", "responses")
TARGET_RATIO, TARGET_MEMORY, TARGET_VALIDATE = 8.0, 4.0, 4.0


class Peak:
    """The peak resident memory of this process while the block runs, sampled every 10 ms."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.base = self._process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _frames_bytes(frames) -> int:  # noqa: ANN001
    return int(sum(frame.memory_usage(deep=True).sum() for frame in frames))


def child_read_csv(study: Path, repeat: int) -> dict:
    import pandas as pd

    best, cpu, frames = float("inf"), float("inf"), []
    for _ in range(repeat):
        frames = []
        start, clock = time.perf_counter(), time.process_time()
        for name in FILES:
            frames.append(pd.read_csv(study / f"{name}.csv", engine="c"))
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - clock)
    return {"read_csv": best, "read_csv_cpu": cpu, "frames_bytes": _frames_bytes(frames),
            "rows": {n: len(f) for n, f in zip(FILES, frames, strict=True)}}


def child_pipeline(study: Path, repeat: int) -> dict:
    import gc

    import outcomes as oc
    from outcomes.study import read_study

    oc.validate  # noqa: B018 - load the lazy names before the clock starts
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peak = 0
    for attempt in range(repeat):
        gc.collect()
        with Peak() as memory:
            steps: dict[str, tuple[float, float]] = {}
            loaded = _timed(steps, "read_study", lambda: read_study(study))
            report = _timed(steps, "validate", loaded.validate)
            _timed(steps, "scores", loaded.scores)
            _timed(steps, "analysis_table", loaded.analysis_table)
        for name, (seconds, clock) in steps.items():
            times[name] = min(times.get(name, float("inf")), seconds)
            cpu[name] = min(cpu.get(name, float("inf")), clock)
        if attempt == 0:
            peak = memory.peak - memory.base
            ok, counts = report.ok, report.counts.to_dict("records")
        del loaded, report
    return {"times": times, "cpu": cpu, "peak_bytes": peak, "ok": ok, "counts": counts}


def _timed(steps: dict, name: str, work):  # noqa: ANN001, ANN202
    """Run ``work``, recording its wall and CPU seconds under ``name``; return its result."""
    start, clock = time.perf_counter(), time.process_time()
    result = work()
    steps[name] = (time.perf_counter() - start, time.process_time() - clock)
    return result


def run_child(kind: str, study: Path, repeat: int) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--study", str(study),
               "--repeat", str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_validate_command(study: Path, repeat: int) -> tuple[float, int]:
    """Wall time (best of ``repeat``) and peak RSS of ``outcomes validate`` as a process."""
    import psutil

    exe = Path(sys.executable).with_name("outcomes")
    out = Path(tempfile.mkdtemp(prefix="outcomes-rejected-"))
    command = [str(exe), "validate", str(study), "--out", str(out / "rejected")]
    best, peak = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        process = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.01)
        best = min(best, time.perf_counter() - start)
        if child.returncode not in (0, 1):
            sys.exit(f"outcomes validate failed:\n{child.stderr.read().decode()[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return best, peak


def simulate(folder: Path, clients_per_coach: int) -> None:
    exe = Path(sys.executable).with_name("outcomes")
    subprocess.run([str(exe), "simulate", "--out", str(folder), "--n-coaches", "200",
                    "--clients-per-coach", str(clients_per_coach), "--seed", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    (folder / "truth.json").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, help="A study folder of CSV files [simulated].")
    parser.add_argument("--repeat", type=int, default=2, help="Runs per step; the best counts.")
    parser.add_argument("--clients-per-coach", type=int, default=45,
                        help="Size of the simulated study (200 coaches) [45; 100 is larger].")
    parser.add_argument("--keep", action="store_true", help="Keep the simulated study.")
    parser.add_argument("--child", choices=["read_csv", "pipeline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        work = child_read_csv if args.child == "read_csv" else child_pipeline
        print(json.dumps(work(args.study, args.repeat)))
        return
    scratch = None
    study = args.study
    if study is None:
        scratch = Path(tempfile.mkdtemp(prefix="outcomes-bench-"))
        study = scratch / "study"
        simulate(study, args.clients_per_coach)
    try:
        report(study, args.repeat)
    finally:
        if scratch is not None and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        elif scratch is not None:
            print(f"\nThe study is in {study}")


def report(study: Path, repeat: int) -> None:
    base = run_child("read_csv", study, repeat)
    pipe = run_child("pipeline", study, repeat)
    seconds, peak = run_validate_command(study, repeat)
    size = sum((study / f"{n}.csv").stat().st_size for n in FILES)
    rows = base["rows"]
    print(f"Study {study}: {size / 1e6:.0f} MB of CSV, "
          + ", ".join(f"{rows[n]:,} {n}" for n in FILES))
    total, total_cpu = sum(pipe["times"].values()), sum(pipe["cpu"].values())
    lines = [("pandas.read_csv, four files (C engine)", base["read_csv"], base["read_csv_cpu"],
              "")]
    lines += [(name, value, pipe["cpu"][name], f"{value / base['read_csv']:.1f}x")
              for name, value in pipe["times"].items()]
    ratio = total / base["read_csv"]
    lines.append(("read_study + validate + scores + analysis_table", total, total_cpu,
                  f"{ratio:.1f}x (target <= {TARGET_RATIO:g}x); CPU "
                  f"{total_cpu / base['read_csv_cpu']:.1f}x"))
    width = max(len(line[0]) for line in lines)
    print(f"\n{'step':<{width}}  {'seconds':>8}  {'cpu s':>6}  vs read_csv")
    for name, value, clock, note in lines:
        print(f"{name:<{width}}  {value:8.2f}  {clock:6.2f}  {note}")
    loaded = base["frames_bytes"]
    memory = pipe["peak_bytes"] / loaded
    print(f"\nframes loaded by read_csv: {loaded / 2**20:,.0f} MiB; peak memory of the four "
          f"steps above the imports: {pipe['peak_bytes'] / 2**20:,.0f} MiB = {memory:.1f}x "
          f"(target <= {TARGET_MEMORY:g}x)")
    print(f"outcomes validate, whole process: {seconds:.2f} s (target <= {TARGET_VALIDATE:g} s), "
          f"peak RSS {peak / 2**20:,.0f} MiB")
    print(f"validation: ok={pipe['ok']}; " + ", ".join(
        f"{c['table']} {c['valid']:,}/{c['input']:,} valid" for c in pipe["counts"]))


if __name__ == "__main__":
    main()
