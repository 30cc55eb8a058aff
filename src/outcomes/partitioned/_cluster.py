"""A Dask client: a running ``dask.distributed`` scheduler, or a local cluster."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from outcomes._engine import require_dask

__all__ = ["client"]


@contextlib.contextmanager
def client(scheduler: str | None = None, *, n_workers: int = 2,
           memory_limit: str | float | None = "auto") -> Iterator[Any]:
    """Run the Dask work inside the block on a scheduler, or on a local cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``). Without
        it, a local cluster of ``n_workers`` worker processes is started for the block.
    n_workers : int, default 2
        Workers of the local cluster (one thread each).
    memory_limit : str or float, optional
        Memory limit per local worker (``"2GiB"``); ``"auto"`` shares the machine's.

    Yields
    ------
    distributed.Client

    Examples
    --------
    A local cluster starts worker processes, so the example is not run here::

        with client() as running:                 # two local workers
            report = validate_tables(read_study("study/"), out="validated/")
        with client("tcp://scheduler:8786"):      # a cluster that is already running
            d = oc.decompose("analysis/*.parquet", "end_score", FACTORS, engine="dask")
    """
    require_dask("outcomes.partitioned.client")
    import dask

    try:
        import distributed
    except ImportError:  # pragma: no cover - installed with the scale extra
        from outcomes._errors import UsageError

        raise UsageError('a Dask cluster needs distributed: pip install "outcomes[scale]".'
                         ) from None
    if scheduler:
        with distributed.Client(scheduler) as connected:
            yield connected
        return
    # workers' own log lines (a heartbeat to a scheduler that is shutting down prints a
    # traceback) are not for the user; failures reach the caller as exceptions
    with dask.config.set(_ALLOCATOR), \
            distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                     memory_limit=memory_limit, dashboard_address=None,
                                     processes=True, silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster) as local:
        yield local


# distributed starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which also freezes
# glibc's mmap threshold at 128 KiB: every column of a partition is then a fresh mmap whose
# pages fault in again, about a fifth more CPU for validation and scoring at the same peak
# memory. The workers of a local cluster keep glibc's adaptive defaults (a variable set in
# the environment still wins).
_ALLOCATOR = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
