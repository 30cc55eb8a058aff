"""The Dask cluster the partitioned tests share: two workers in this process, started once.

Other test modules use the fixture by importing it:
``from tests.test_partitioned_cluster import dask_client  # noqa: F401``.
"""

from __future__ import annotations

import atexit
import functools

import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@functools.cache
def _client():
    # threads, not processes: starts in a fraction of a second on a two-core machine
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    atexit.register(cluster.close)
    atexit.register(client.close)
    return client


@pytest.fixture(scope="session")
def dask_client():
    """A client of a two-worker LocalCluster, made the default scheduler inside a test."""
    client = _client()
    yield client


@pytest.fixture
def on_cluster(dask_client):
    """Run the test's Dask work on the shared cluster."""
    with dask_client.as_current():
        import dask

        with dask.config.set(scheduler=dask_client):
            yield dask_client


def test_cluster_has_two_workers(dask_client):
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert dask_client.submit(sum, [1, 2, 3]).result() == 6
