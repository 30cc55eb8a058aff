"""Past one machine's memory: the study's tables as Dask frames, read part by part.

The model functions (:func:`outcomes.decompose`, :func:`outcomes.dominance`,
:func:`outcomes.change`) take a Dask DataFrame as they take a pandas one. This package does
the rest of the flow at scale, with the in-memory rules and the same numbers:

- :func:`read_table`, :func:`read_study` — Parquet and CSV parts as Dask frames that keep
  each row's file and line;
- :func:`validate_tables` — every rule of :func:`outcomes.validate_tables`, partition by
  partition; valid rows to Parquet, rejected rows with reasons to CSV
  (:class:`ScaledValidation`);
- :func:`score`, :func:`analysis_table` — scale scores and one row per engagement, bucket
  by bucket of engagements;
- :func:`client` — a ``dask.distributed`` scheduler, or a local cluster of two workers.

Dask is imported only when these run (the ``scale`` extra). See ``docs/partitioned.md``.

Examples
--------
>>> import dask, dask.dataframe as dd, tempfile, outcomes as oc
>>> study = oc.load_sample()
>>> tables = {k: dd.from_pandas(v, npartitions=3) for k, v in study.tables.items()}
>>> with dask.config.set(scheduler="synchronous"):
...     report = validate_tables(tables, out=tempfile.mkdtemp())
>>> report.counts.equals(study.validate().counts)
True
"""

from outcomes.partitioned._cluster import client
from outcomes.partitioned._derive import analysis_table, score
from outcomes.partitioned._read import read_study, read_table
from outcomes.partitioned._validate import ScaledValidation, validate_tables

__all__ = ["read_table", "read_study", "validate_tables", "ScaledValidation", "score",
           "analysis_table", "client"]
