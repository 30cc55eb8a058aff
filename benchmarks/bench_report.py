"""Benchmark of the reports: the body's report, the norms and a coach's benchmark.

Run from the project's root:

    python benchmarks/bench_report.py                  # the sample study, 200 replicates
    python benchmarks/bench_report.py --boot 500 --out /tmp/report

It runs the real ``outcomes`` command, as a user does, and prints one row per step with its
wall time (process start-up included):

- ``outcomes report data/sample --out DIR`` (HTML and PDF; the target is 60 s);
- ``outcomes norms data/sample --out norms.json``;
- ``outcomes template`` and ``outcomes benchmark`` of one sample coach against those norms;

then the size of each file written and the number of PDF pages. The salt file for the coach
pseudonyms is written to a temporary folder, never to the output folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
TARGET = 60.0


def outcomes(*args: str) -> float:
    exe = Path(sys.executable).with_name("outcomes")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "outcomes.cli"]
    started = time.perf_counter()
    done = subprocess.run(command + list(args), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"outcomes {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds


def pages(path: Path) -> int | str:
    try:
        import pypdf
    except ImportError:
        return "?"
    return len(pypdf.PdfReader(str(path)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Output folder [a temporary folder].")
    parser.add_argument("--boot", type=int, default=200, help="Bootstrap replicates.")
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="outcomes-bench-"))
    out = args.out or scratch / "report"
    salt = scratch / "keys" / "pseudonym.salt"
    rows = [("outcomes report (HTML + PDF)", outcomes(
        "report", str(SAMPLE), "--out", str(out), "--boot", str(args.boot), "--seed",
        str(args.seed), "--salt-file", str(salt)))]
    norms = scratch / "norms.json"
    rows.append(("outcomes norms", outcomes("norms", str(SAMPLE), "--out", str(norms),
                                            "--boot", str(args.boot), "--seed",
                                            str(args.seed))))
    rows.append(("outcomes template", outcomes("template", "--out",
                                               str(scratch / "my_practice.xlsx"))))
    rows.append(("outcomes benchmark (one coach)", outcomes(
        "benchmark", str(SAMPLE), "--coach", "C001", "--norms", str(norms), "--out",
        str(scratch / "benchmark"))))
    print(f"{'step':34} {'seconds':>8}")
    for name, seconds in rows:
        print(f"{name:34} {seconds:8.1f}")
    verdict = "within" if rows[0][1] <= TARGET else "OVER"
    print(f"\nThe body's report took {rows[0][1]:.1f} s: {verdict} the {TARGET:.0f} s target.")
    for path in (out / "report.html", out / "report.pdf", norms,
                 scratch / "benchmark" / "benchmark.pdf"):
        extra = f", {pages(path)} pages" if path.suffix == ".pdf" else ""
        print(f"{path}: {path.stat().st_size / 1024:.0f} kB{extra}")


if __name__ == "__main__":
    main()
