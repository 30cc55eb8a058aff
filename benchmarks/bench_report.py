"""Benchmark of the reports: the body's report (whole process and each step), the norms and a
coach's benchmark.

Run from the project's root:

    python benchmarks/bench_report.py                  # the sample study, default settings
    python benchmarks/bench_report.py --runs 3 --out /tmp/report

It runs the real ``outcomes`` command, as a user does:

- ``outcomes report data/sample --out DIR --json`` (HTML and PDF, default settings; the
  target is 5 s for the whole process), ``--runs`` times, keeping the fastest; each step's
  wall and CPU seconds come from the command's own record (``Report.stages``, this
  process only), the whole process's CPU from the operating system (the processes that
  draw the figures and fit the slowest models, and Chromium's, included);
- the same with WeasyPrint printing the PDF (``OUTCOMES_CHROMIUM=""``), for the PDF step;
- ``outcomes norms``, ``outcomes template`` and ``outcomes benchmark`` of one sample coach;

beside the figures measured on the version before this one (same machine, same command),
then the load of the machine (``uptime``) before and after: the machine is shared, and its
load stretches wall time far more than CPU time.

The package is measured as ``pip install .`` leaves it, with its modules compiled: the
script compiles the installed package's bytecode first where it is missing (an editable
install under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile every module from
source in every process, about half a second of each run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SALT = ROOT / "data" / "sample.salt"
TARGET = 5.0
#: The version before (the imputed shares fitted in the process that draws the figures, the
#: session model with statsmodels' own likelihood, Chromium started before the last sections),
#: same machine and command, bytecode compiled, fastest of three runs at a load average of
#: about 1.9 on two cores: the whole process by the operating system, each step from
#: ``Report.stages``. Wall and CPU seconds.
BEFORE = {"whole process": (5.54, 9.05),
          "start-up, imports, other processes, Chromium": (1.07, 7.16),
          "reading and validating the study": (0.47, 0.33),
          "starting the second process": (0.47, 0.21),
          "Who is in the data": (0.07, 0.04), "Measurement quality": (1.53, 0.96),
          "Did clients improve?": (0.04, 0.02), "What drives outcome": (0.16, 0.15),
          "Coaches": (0.11, 0.05), "Alliance over sessions": (0.73, 0.02),
          "Monitoring": (0.32, 0.02), "HTML": (0.19, 0.10), "PDF": (0.36, 0.01)}


def compile_package() -> Path:
    """Compile the bytecode of the ``outcomes`` the command imports, as ``pip install .`` does
    (a no-op where it is already compiled); returns the package's folder."""
    found = subprocess.run([sys.executable, "-c", "import outcomes; print(outcomes.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    folder = Path(found).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""}, capture_output=True)
    return folder


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0] if Path("/proc/loadavg").exists() \
        else "?"


def outcomes(*args: str, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the process and its children, and stdout."""
    exe = Path(sys.executable).with_name("outcomes")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "outcomes.cli"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command + list(args), capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"outcomes {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, cpu, done.stdout


def report(out: Path, runs: int, env: dict[str, str] | None = None) -> dict:
    best = None
    for _ in range(runs):
        wall, cpu, text = outcomes("report", str(SAMPLE), "--out", str(out), "--salt-file",
                                   str(SALT), "--json", env=env)
        if best is None or wall < best["wall"]:
            best = {"wall": wall, "cpu": cpu, **json.loads(text)}
    assert best is not None
    return best


def row(name: str, now: tuple[float, float] | None,
        before: tuple[float, float] | None) -> str:
    def cell(pair: tuple[float, float] | None) -> str:
        return f"{pair[0]:7.2f} {pair[1]:7.2f}" if pair else f"{'':7} {'':7}"
    return f"{name:44} {cell(now)}   {cell(before)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Output folder [a temporary folder].")
    parser.add_argument("--runs", type=int, default=1, help="Runs of the report (fastest kept).")
    args = parser.parse_args()
    print(f"outcomes from {compile_package()} (bytecode compiled)")
    scratch = Path(tempfile.mkdtemp(prefix="outcomes-bench-"))
    out = args.out or scratch / "report"
    load_before = load()
    fast = report(out, args.runs)
    plain = report(scratch / "weasyprint", 1, env={"OUTCOMES_CHROMIUM": ""})
    norms = scratch / "norms.json"
    others = [("outcomes norms", outcomes("norms", str(SAMPLE), "--out", str(norms))[:2]),
              ("outcomes template", outcomes("template", "--out",
                                             str(scratch / "my_practice.xlsx"))[:2]),
              ("outcomes benchmark (one coach)", outcomes(
                  "benchmark", str(SAMPLE), "--coach", "C001", "--norms", str(norms), "--out",
                  str(scratch / "benchmark"))[:2])]
    print(f"{'step':44} {'now: wall':>9} {'cpu':>7}   {'before: wall':>12} {'cpu':>7}")
    print(row("outcomes report, whole process", (fast["wall"], fast["cpu"]),
              BEFORE["whole process"]))
    inside = sum(w for w, _ in fast["stages"].values())
    steps_cpu = sum(c for _, c in fast["stages"].values())
    print(row("  start-up, imports, other processes, Chromium", (
        fast["wall"] - fast["seconds"], fast["cpu"] - steps_cpu),
        BEFORE["start-up, imports, other processes, Chromium"]))
    for step, (wall, cpu) in fast["stages"].items():
        key = step.removeprefix("section: ").split(" (")[0]
        print(row(f"  {step}", (wall, cpu), BEFORE.get(key)))
    weasy = next((v for k, v in plain["stages"].items() if k.startswith("PDF")), None)
    print(row("  the PDF step with WeasyPrint instead", weasy, None))
    print(row("outcomes report with WeasyPrint, whole process", (plain["wall"], plain["cpu"]),
              None))
    for name, pair in others:
        print(row(name, pair, None))
    verdict = "within" if fast["wall"] <= TARGET else "OVER"
    print(f"\nThe body's report took {fast['wall']:.1f} s wall ({fast['cpu']:.1f} s CPU, "
          f"{inside:.1f} s in its steps): {verdict} the {TARGET:.0f} s target. Load average "
          f"(2 cores): {load_before} before, {load()} after.")
    for path in (out / "report.html", out / "report.pdf", norms):
        print(f"{path}: {path.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
