"""Many coaches at once: concurrent workbook uploads to `outcomes serve` on loopback.

Starts ``outcomes serve`` on a free loopback port (with norms built from a simulated study),
sends ``--n`` uploads of a filled-in workbook at the same moment, checks that every answer is
a benchmark page (status 200, the headline present), and prints the latency percentiles and
the server's peak memory (the sum of the high-water marks of its processes). Bounded: at
most ``--n`` uploads (default 50), loopback only, and a deadline (``--timeout`` seconds).

    python benchmarks/bench_serve.py [--n 50] [--workers 2] [--timeout 900]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _norms_and_workbook(folder: Path) -> tuple[Path, bytes]:
    from openpyxl import load_workbook

    from outcomes.benchmarking import write_template
    from outcomes.norms import build_norms
    from outcomes.simulate.synthetic import simulate_study
    from outcomes.study import Study

    simulated = simulate_study(n_coaches=12, clients_per_coach=12, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        norms = build_norms(Study(tables=simulated.tables, source="bench"), n_boot=0,
                            title="Benchmark body").write(folder / "norms.json")
    path = write_template(folder / "practice.xlsx")
    book = load_workbook(path)
    rng = np.random.default_rng(7)
    for i in range(20):
        intake = float(rng.integers(8, 30))
        book["clients"].append([f"C{i:02d}", "self", "completed", intake,
                                min(40.0, intake + float(rng.integers(-3, 12))),
                                int(rng.integers(3, 12)), float(rng.integers(28, 40))])
    book.save(path)
    return norms, path.read_bytes()


def _peak_memory(pid: int) -> int:
    """Sum of VmHWM (bytes) over ``pid`` and its descendants (Linux)."""
    seen, todo, total = set(), [pid], 0
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, AttributeError, ProcessLookupError):
            continue
    return total


async def _one(base: str, workbook: bytes) -> tuple[float, bool]:
    import httpx2 as httpx

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=None) as client:
        page = await client.get("/coach")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        answer = await client.post("/coach/benchmark", data={"csrf": token},
                                   files={"workbook": ("practice.xlsx", workbook)})
    ok = answer.status_code == 200 and 'class="bm-headline"' in answer.text
    return time.perf_counter() - started, ok


async def _all(base: str, workbook: bytes, n: int, timeout: float) -> list[tuple[float, bool]]:
    return await asyncio.wait_for(asyncio.gather(*(_one(base, workbook) for _ in range(n))),
                                  timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="concurrent uploads (at most 500)")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--timeout", type=float, default=900, help="deadline in seconds")
    args = parser.parse_args()
    n = min(max(args.n, 1), 500)
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    norms, workbook = _norms_and_workbook(folder)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = Path(sys.executable).with_name("outcomes")
    server = subprocess.Popen([str(exe), "serve", "--norms", str(norms), "--host", "127.0.0.1",
                               "--port", str(port), "--workers", str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx2 as httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 120 s")
            time.sleep(0.5)
        time.sleep(2)  # every worker up
        started = time.perf_counter()
        results = asyncio.run(_all(base, workbook, n, args.timeout))
        wall = time.perf_counter() - started
        peak = _peak_memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    latency = np.array([r[0] for r in results])
    correct = sum(r[1] for r in results)
    print(f"{'uploads':<28}{n:>12}")
    print(f"{'answered correctly':<28}{correct:>12}")
    print(f"{'server workers':<28}{args.workers:>12}")
    print(f"{'wall time (s)':<28}{wall:>12.1f}")
    print(f"{'latency p50 (s)':<28}{np.percentile(latency, 50):>12.2f}")
    print(f"{'latency p95 (s)':<28}{np.percentile(latency, 95):>12.2f}")
    print(f"{'latency max (s)':<28}{latency.max():>12.2f}")
    print(f"{'server peak memory (MB)':<28}{peak / 1e6:>12.0f}")
    if correct != n:
        raise SystemExit(f"{n - correct} uploads were not answered with a benchmark")


if __name__ == "__main__":
    main()
