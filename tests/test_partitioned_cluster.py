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


_ENVIRONMENT = """
import os
from outcomes.partitioned import client
with client(n_workers=1, memory_limit=None) as running:
    print(sorted(set(running.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()), key=str))
"""


@pytest.mark.parametrize("given", [None, "1048576"])
def test_local_workers_keep_the_allocator_settings(given):
    """distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536 (every freed column given
    back to the system and faulted in again: a fifth more CPU on partition-sized frames);
    the workers of ``client()`` keep the C library's defaults, or the value the user set.
    A process of its own, as the cluster's nannies write the variables they set into it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    env |= {"MALLOC_TRIM_THRESHOLD_": given} if given else {}
    done = subprocess.run([sys.executable, "-c", _ENVIRONMENT], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == repr([given])
