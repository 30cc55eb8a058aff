"""Any frame, cut into any partitions, gives the in-memory numbers (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import outcomes as oc
from outcomes._errors import DataWarning, ModelError
from outcomes.shares.moments import UnitMoments
from tests import test_partitioned_cluster as cluster

dd = pytest.importorskip("dask.dataframe")
dask_client = cluster.dask_client  # the shared two-worker cluster


@st.composite
def partitioned_frames(draw):
    """A frame of 3 predictors (one text), an outcome, clusters and a few missing cells,
    with the row positions where it is cut into partitions."""
    n = draw(st.integers(20, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    group = rng.choice(["a", "b", "c"], size=n)
    y = x @ rng.normal(size=2) + (group == "b") + rng.normal(size=n)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "group": group, "y": y,
                          "coach": rng.integers(0, draw(st.integers(3, 8)), size=n)})
    holes = rng.random(n) < draw(st.sampled_from([0.0, 0.1]))
    frame.loc[holes, "x1"] = np.nan
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=5)))
    return frame, cuts


def _split(frame: pd.DataFrame, cuts: list[int]):
    bounds = [0, *cuts, len(frame)]
    parts = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return dd.from_map(lambda p: p, parts, meta=frame.iloc[:0], enforce_metadata=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=partitioned_frames())
def test_shares_and_cluster_sums_agree_over_any_partitioning(case, dask_client):
    import dask

    frame, cuts = case
    factors = {"numbers": ["x1", "x2"], "group": ["group"]}
    with warnings.catch_warnings(), dask.config.set(scheduler=dask_client):
        warnings.simplefilter("ignore", DataWarning)
        try:
            memory = oc.decompose(frame, "y", factors, cluster="coach")
        except ModelError:
            return  # e.g. a level missing from the complete rows: nothing to compare
        parts = oc.decompose(_split(frame, cuts), "y", factors, cluster="coach")
        from outcomes.shares.design import prepare

        design = prepare(_split(frame, cuts), "y", factors, cluster="coach")
        reference = prepare(frame, "y", factors, cluster="coach")
    scale = np.abs(reference.cross).max()
    np.testing.assert_allclose(design.cross, reference.cross, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(parts.shares, memory.shares, rtol=0, atol=1e-10)
    assert parts.r2 == pytest.approx(memory.r2, abs=1e-10)
    ours, theirs = design.units(), reference.units()
    assert isinstance(ours, UnitMoments) and ours.n_units == theirs.n_units
    counts = np.random.default_rng(0).multinomial(ours.n_units, [1 / ours.n_units] *
                                                  ours.n_units, size=5)
    np.testing.assert_allclose(ours.combine(counts), theirs.combine(counts), rtol=0,
                               atol=1e-9 * scale)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.integers(1, 4), buckets=st.integers(1, 5), seed=st.integers(0, 1000))
def test_validation_over_partitions_equals_memory(parts, buckets, seed, dask_client,
                                                  tmp_path_factory):
    import dask

    from outcomes import partitioned as scale
    from outcomes.validation.rules import validate_tables
    from tests.test_partitioned_validate import _faulty_study, _problems

    rng = np.random.default_rng(seed)
    tables = {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True)
              for k, v in _faulty_study().items()}  # rows in any order
    memory = validate_tables(tables)
    frames = {k: dd.from_pandas(v, npartitions=parts) for k, v in tables.items()}
    with dask.config.set(scheduler=dask_client):
        scaled = scale.validate_tables(frames, out=tmp_path_factory.mktemp("v"),
                                       npartitions=buckets)
    pd.testing.assert_frame_equal(scaled.counts, memory.counts)
    pd.testing.assert_frame_equal(_problems(scaled.problems()), _problems(memory.problems),
                                  check_dtype=False)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), every=st.integers(1, 3))
def test_parts_that_keep_engagements_whole_validate_as_memory(seed, every, dask_client,
                                                              tmp_path_factory):
    """Responses cut between engagements (so they stay where they are), every other table
    in any order and cut anywhere: the report and the valid rows of memory."""
    import dask

    from outcomes import partitioned as scale
    from outcomes.validation.rules import validate_tables
    from tests.test_partitioned_validate import (
        _cut,
        _engagement_edges,
        _faulty_study,
        _problems,
    )

    rng = np.random.default_rng(seed)
    tables = {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True)
              for k, v in _faulty_study().items()}
    ids = tables["responses"]["engagement_id"]
    rank = dict(zip(ids.unique(), rng.permutation(ids.nunique()), strict=True))
    tables["responses"] = tables["responses"].iloc[
        np.argsort(ids.map(rank).to_numpy(), kind="stable")].reset_index(drop=True)
    memory = validate_tables(tables)
    frames = {k: _cut(v, sorted(set(rng.integers(1, len(v), size=rng.integers(0, 4)))))
              for k, v in tables.items() if k != "responses"}
    frames["responses"] = _cut(tables["responses"],
                               _engagement_edges(tables["responses"], every))
    with dask.config.set(scheduler=dask_client):
        scaled = scale.validate_tables(frames, out=tmp_path_factory.mktemp("v"))
        assert scaled.npartitions == frames["responses"].npartitions
        for kind in ("engagements", "sessions"):
            pd.testing.assert_frame_equal(scaled.valid(kind).compute().sort_index(),
                                          memory.valid[kind].sort_index(), check_dtype=False)
    pd.testing.assert_frame_equal(scaled.counts, memory.counts)
    pd.testing.assert_frame_equal(_problems(scaled.problems()), _problems(memory.problems),
                                  check_dtype=False)
