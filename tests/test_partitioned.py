"""Dask in, same answers out: decompose, dominance and change on partitions.

The in-memory path is the reference: every number of the Dask path must equal it to 1e-10
(the moments combine exactly; only rounding differs). Runs on a two-worker LocalCluster.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import outcomes as oc
from outcomes._errors import DataWarning, ModelError, UsageError
from outcomes.analysis import FACTORS
from tests import test_partitioned_cluster as cluster

dd = pytest.importorskip("dask.dataframe")
dask_client = cluster.dask_client  # the shared two-worker cluster
on_cluster = cluster.on_cluster  # the shared two-worker cluster

ATOL = 1e-10


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    t = oc.load_sample().analysis_table()
    band = np.where(t["baseline"] > 22, "high", np.where(t["baseline"] > 14, "mid", "low"))
    return t.assign(band=pd.Categorical(band, categories=["low", "mid", "high", "unused"]))


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kwargs)


def _numbers(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=float)


def test_decompose_with_cluster_bootstrap_matches_memory(table, on_cluster):
    kwargs = dict(covariates=["baseline"], cluster="coach_id", n_boot=300, seed=11)
    factors = {**FACTORS, "context": ["sponsor", "band"]}
    memory = _quiet(oc.decompose, table, "end_score", factors, **kwargs)
    parts = _quiet(oc.decompose, dd.from_pandas(table, npartitions=7), "end_score", factors,
                   **kwargs)
    assert parts.n == memory.n and parts.n_dropped == memory.n_dropped
    assert parts.n_clusters == memory.n_clusters == table["coach_id"].nunique()
    np.testing.assert_allclose(parts.shares, memory.shares, rtol=0, atol=ATOL)
    assert parts.r2 == pytest.approx(memory.r2, abs=ATOL)
    np.testing.assert_allclose(_numbers(parts.ci), _numbers(memory.ci), rtol=0, atol=ATOL)
    np.testing.assert_allclose(_numbers(parts.differences), _numbers(memory.differences),
                               rtol=0, atol=ATOL)


@pytest.mark.parametrize("method", ["pratt", "relative_weights", "last", "betasq"])
def test_other_methods_and_weights_match(table, method, on_cluster):
    data = table.assign(w=np.linspace(0.5, 2.0, len(table)))
    kwargs = dict(covariates=["baseline"], method=method, weights="w")
    memory = _quiet(oc.decompose, data, "end_score", FACTORS, **kwargs)
    parts = _quiet(oc.decompose, dd.from_pandas(data, npartitions=3), "end_score", FACTORS,
                   **kwargs)
    np.testing.assert_allclose(parts.shares, memory.shares, rtol=0, atol=ATOL)


def test_dominance_with_cluster_bootstrap_matches_memory(table, on_cluster):
    kwargs = dict(covariates=["baseline"], cluster="coach_id", n_boot=60, seed=5)
    factors = {**FACTORS, "context": ["band"]}
    memory = _quiet(oc.dominance, table, "end_score", factors, **kwargs)
    parts = _quiet(oc.dominance, dd.from_pandas(table, npartitions=4), "end_score", factors,
                   **kwargs)
    for name in ("conditional", "complete", "conditional_dominance", "general_dominance"):
        np.testing.assert_allclose(getattr(parts, name), getattr(memory, name), atol=ATOL)
    np.testing.assert_allclose(_numbers(parts.bootstrap), _numbers(memory.bootstrap), atol=ATOL)
    np.testing.assert_allclose(_numbers(parts.general_ci), _numbers(memory.general_ci),
                               atol=ATOL)


@pytest.mark.parametrize("options", [
    {"instrument": "ors"},
    {"reliability": 0.8, "method": "hsu-linn-lord", "cutoff": "a"},
    {"instrument": "ors", "severity_reference": {"intercept": 3.0, "slope": -0.3,
                                                 "mean_change": 5.0, "sd": 7.0}},
])
def test_change_matches_memory(table, options, on_cluster):
    kwargs = dict(pre="baseline", post="end_score", client="engagement_id", **options)
    memory = oc.change(table, **kwargs)
    parts = oc.change(dd.from_pandas(table, npartitions=5), **kwargs)
    pd.testing.assert_series_equal(parts.counts, memory.counts)
    np.testing.assert_allclose(_numbers(parts.percentages), _numbers(memory.percentages),
                               atol=ATOL)
    np.testing.assert_allclose(_numbers(parts.effect_sizes), _numbers(memory.effect_sizes),
                               atol=ATOL)
    assert parts.notes == memory.notes
    clients = parts.table().compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(clients, memory.table(), check_dtype=False, atol=ATOL)
    assert parts.summary() == memory.summary()


def test_paths_and_globs_read_by_dask(table, tmp_path, on_cluster):
    for i, part in enumerate(np.array_split(np.arange(len(table)), 3)):
        table.iloc[part].drop(columns="band").to_parquet(tmp_path / f"part-{i}.parquet")
    memory = _quiet(oc.decompose, table, "end_score", FACTORS, covariates=["baseline"])
    for data in (str(tmp_path / "*.parquet"), tmp_path):
        parts = _quiet(oc.decompose, data, "end_score", FACTORS, covariates=["baseline"],
                       engine="dask")
        np.testing.assert_allclose(parts.shares, memory.shares, atol=ATOL)
    csv = tmp_path / "table.csv"
    table.drop(columns="band").to_csv(csv, index=False)
    by_pandas = oc.change(csv, pre="baseline", post="end_score", instrument="ors")
    by_dask = oc.change(csv, pre="baseline", post="end_score", instrument="ors", engine="dask")
    pd.testing.assert_series_equal(by_dask.counts, by_pandas.counts)


def test_text_levels_are_found_across_partitions(on_cluster):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=90), "y": rng.normal(size=90),
                          "group": ["a"] * 30 + ["b"] * 30 + ["c"] * 30})
    memory = oc.decompose(frame, "y", ["x", "group"])
    parts = oc.decompose(dd.from_pandas(frame, npartitions=3, sort=False), "y", ["x", "group"])
    np.testing.assert_allclose(parts.shares, memory.shares, atol=ATOL)


def test_categories_must_be_known(table, on_cluster):
    frame = dd.from_pandas(table, npartitions=2)
    frame["band"] = frame["band"].cat.as_unknown()
    with pytest.raises(UsageError, match="unknown categories"):
        oc.decompose(frame, "end_score", {"c": ["band"]})


def test_same_errors_and_warnings_as_memory(table, on_cluster):
    data = table.assign(constant=1.0)
    parts = dd.from_pandas(data, npartitions=3)
    for frame in (data, parts):
        with pytest.raises(ModelError, match='column "constant" has the same value'):
            _quiet(oc.decompose, frame, "end_score", ["alliance", "constant"])
    messages = []
    for frame in (data, parts):
        with pytest.warns(DataWarning) as caught:
            oc.decompose(frame, "end_score", ["alliance", "optimism"])
        messages.append(str(caught[0].message))
    assert messages[0] == messages[1]
    with pytest.raises(UsageError, match="column name"):
        oc.decompose(parts, "end_score", ["alliance"], cluster=np.zeros(len(data)))


def test_poisson_bootstrap_is_reproducible_whatever_the_scheduler(table, dask_client):
    import dask

    frame = dd.from_pandas(table, npartitions=6)
    kwargs = dict(covariates=["baseline"], n_boot=200, seed=8)
    with dask.config.set(scheduler="synchronous"):
        first = _quiet(oc.decompose, frame, "end_score", FACTORS, **kwargs)
    with dask_client.as_current(), dask.config.set(scheduler=dask_client):
        second = _quiet(oc.decompose, frame, "end_score", FACTORS, **kwargs)
        other = _quiet(oc.decompose, frame, "end_score", FACTORS, **{**kwargs, "seed": 9})
    np.testing.assert_array_equal(first.draws.replicates, second.draws.replicates)
    assert not np.allclose(first.draws.replicates, other.draws.replicates)
    # Poisson and multinomial resampling estimate the same standard errors
    memory = _quiet(oc.decompose, table, "end_score", FACTORS, **kwargs)
    ratio = first.ci["std_error"] / memory.ci["std_error"]
    assert ratio.between(0.6, 1.6).all()
