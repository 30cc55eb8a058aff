"""Benchmark of the factor-share engine against peers.

Run from the project's root:

    python benchmarks/bench_importance.py            # the full table (a few minutes)
    python benchmarks/bench_importance.py --quick    # p up to 10, fewer repetitions

Peers (optional ``bench`` extra): pingouin (``linear_regression(relimp=True)``, LMG),
dominance-analysis (``Dominance(...).incremental_rsquare()``, general dominance = LMG) and
a naive per-subset OLS refit in numpy. A peer is not run for larger p once one of its runs
has passed 60 s. Times are seconds (best of several runs for fast cases), ratios are the
peer's time over this engine's, and "max diff" is the largest absolute difference between
the peer's shares and ours.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from outcomes.shares.decomposition import decompose
from outcomes.shares.dominance import dominance

LIMIT = 60.0
N = 2000


def frame(p: int, n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = np.eye(p) + 0.3 * rng.normal(size=(p, p))
    x = rng.normal(size=(n, p)) @ mix
    y = x @ rng.uniform(0.1, 1, size=p) + rng.normal(size=n) * 2
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(p)]).assign(y=y)


def best_of(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if times[-1] > 5:
            break
    return min(times), result


def ours(df: pd.DataFrame, p: int) -> np.ndarray:
    return decompose(df, "y", [f"x{i}" for i in range(p)]).shares.to_numpy()


def pingouin_lmg(df: pd.DataFrame, p: int) -> np.ndarray:
    from pingouin import linear_regression

    cols = [f"x{i}" for i in range(p)]
    out = linear_regression(df[cols], df["y"], relimp=True)
    return out.set_index("names").loc[cols, "relimp"].to_numpy()


def load_dominance_analysis():
    """Import dominance-analysis; with numpy 2 it needs two shims (said in the table)."""
    try:
        import dominance_analysis  # noqa: F401

        return dominance_analysis, "imported as is"
    except Exception as error:  # noqa: BLE001 - report why the peer does not import
        reason = f"{type(error).__name__}: {error}"
    for name in [m for m in sys.modules if m.startswith(("dominance_analysis", "bokeh"))]:
        del sys.modules[name]
    try:
        np.bool8 = np.bool_  # bokeh 2.4 (its dependency) uses the alias removed in numpy 2
        import bokeh.io
        import bokeh.plotting

        silent = lambda *a, **k: None  # noqa: E731 - its import-time notebook hook fails
        bokeh.io.output_notebook = bokeh.plotting.output_notebook = silent
        with contextlib.redirect_stdout(io.StringIO()):
            import dominance_analysis
        return dominance_analysis, f"import fails ({reason}); run with numpy-2 shims"
    except Exception as error:  # noqa: BLE001
        return None, f"import fails ({reason}); shims failed too ({type(error).__name__})"


def dominance_analysis_lmg(module, df: pd.DataFrame, p: int) -> np.ndarray:
    cols = [f"x{i}" for i in range(p)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = module.Dominance(data=df[[*cols, "y"]], target="y", objective=1, top_k=p)
            values = model.incremental_rsquare()
    return np.array([values[c] for c in cols])


def naive_lmg(df: pd.DataFrame, p: int) -> np.ndarray:
    """Refit OLS (numpy lstsq) on every subset, then Shapley-weight the R² gains."""
    x = df[[f"x{i}" for i in range(p)]].to_numpy()
    y = df["y"].to_numpy()
    tss = np.sum((y - y.mean()) ** 2)
    ones = np.ones((len(y), 1))
    r2 = np.zeros(2**p)
    for mask in range(1, 2**p):
        cols = [j for j in range(p) if mask >> j & 1]
        a = np.hstack([ones, x[:, cols]])
        coef = np.linalg.lstsq(a, y, rcond=None)[0]
        r2[mask] = 1 - np.sum((y - a @ coef) ** 2) / tss
    shares = np.zeros(p)
    for mask in range(2**p):
        k = bin(mask).count("1")
        for j in range(p):
            if not mask >> j & 1:
                w = math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
                shares[j] += w * (r2[mask | 1 << j] - r2[mask])
    return shares


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def cluster_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    coach = np.repeat(np.arange(60), 20)
    x = rng.normal(size=(1200, 12)) + 0.5 * rng.normal(size=(60, 12))[coach]
    y = x @ rng.uniform(0.1, 0.6, size=12) + rng.normal(size=60)[coach] + rng.normal(size=1200)
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(12)]).assign(y=y)
    return df.assign(coach_id=coach.astype(str))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="p up to 10 and fewer repeats")
    args = parser.parse_args(argv)
    sizes = range(4, 11 if args.quick else 17, 2)
    large = [] if args.quick else [18, 20, 22, 24]
    repeat = 2 if args.quick else 5
    da_module, da_status = load_dominance_analysis()
    peers = {
        "pingouin": lambda df, p: pingouin_lmg(df, p),
        "dominance-analysis": (lambda df, p: dominance_analysis_lmg(da_module, df, p))
        if da_module is not None else None,
        "naive OLS refits": naive_lmg,
    }
    stopped = {name: fn is None for name, fn in peers.items()}
    rows = []
    for p in sizes:
        df = frame(p)
        ours(df, p)  # warm up
        t_ours, ref = best_of(lambda df=df, p=p: ours(df, p), repeat)
        row = {"p": p, "outcomes": t_ours}
        for name, fn in peers.items():
            if stopped[name]:
                row[name] = row[f"{name} ratio"] = row[f"{name} max diff"] = np.nan
                continue
            t, got = best_of(lambda fn=fn, df=df, p=p: fn(df, p), 1 if p >= 12 else repeat)
            row[name], row[f"{name} ratio"] = t, t / t_ours
            row[f"{name} max diff"] = float(np.max(np.abs(got - ref)))
            stopped[name] = t > LIMIT
        rows.append(row)
    table = pd.DataFrame(rows)
    for p in large:
        df = frame(p)
        t, _ = best_of(lambda df=df, p=p: ours(df, p), 2)
        mib = peak_mib(lambda df=df, p=p: ours(df, p))
        rows.append({"p": p, "outcomes": t, "peak MiB": mib})
    table = pd.DataFrame(rows)
    print(f"LMG shares, n = {N} rows; seconds (ratio = peer / outcomes)")
    print(f"dominance-analysis: {da_status}")
    print(f"peers stop once a run passes {LIMIT:.0f} s; NaN = not run")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    df16 = frame(16)
    dominance(df16, "y", [f"x{i}" for i in range(16)])
    t_dom, _ = best_of(lambda: dominance(df16, "y", [f"x{i}" for i in range(16)]), repeat)
    print(f"\ncomplete + conditional + general dominance, p = 16: {t_dom:.4f} s")
    cdf = cluster_frame()
    groups = {f"g{g}": [f"x{3 * g + i}" for i in range(3)] for g in range(4)}
    run = lambda: decompose(cdf, "y", groups, n_boot=2000, cluster="coach_id", seed=1)  # noqa: E731
    run()
    t_boot, _ = best_of(run, 3)
    print(f"2,000-replicate cluster bootstrap with BCa (4 groups of 3 columns, 1,200 clients "
          f"in 60 coaches): {t_boot:.3f} s; peak {peak_mib(run):.1f} MiB")
    if not args.quick:
        df12 = frame(12)
        diff = np.max(np.abs(pingouin_lmg(df12, 12) - ours(df12, 12)))
        print(f"pingouin vs outcomes at p = 12: max |difference| = {diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
