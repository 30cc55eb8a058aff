"""One coach's practice against a body's norms, from a spreadsheet the coach fills in.

:func:`write_template` writes the workbook a coach fills in and :func:`read_practice` reads
it back (:mod:`outcomes.benchmarking.practice`). :func:`benchmark` sets the practice beside a
norms file (:mod:`outcomes.norms`) without anyone else's data
(:mod:`outcomes.benchmarking.compare`):

- each client's change against the change expected for clients like them (the norms'
  case-mix model: intake score and sponsor) and its expected range;
- the coach's standing among coaches: the mean difference from expected, shrunken towards
  the body's average by the norms' between-coach spread ``tau`` and within-coach SD
  ``sigma`` (empirical Bayes; :func:`outcomes.practice.funnel.shrink`), its interval, the
  percentiles of coaches that interval spans (``tau`` taken as the SD of coach effects), and
  the coach's place in the norms' funnel (Spiegelhalter 2005);
- reliable and clinically significant change, with the norms' severity-adjusted effect size;
- the early session ratings against the body's distribution;
- flagged clients: with session ratings, each session against the norms' expected course
  (:func:`outcomes.practice.monitoring.monitor`); otherwise each finished client's change
  against the expected range and the reliable change;
- what the numbers can and cannot say with this many clients.

Clients are referred to by their row in the workbook; the coach's codes stay in it.

Examples
--------
>>> import outcomes as oc
>>> from outcomes.norms import build_norms
>>> norms = build_norms(oc.load_sample(), n_boot=0)
>>> result = benchmark(practice_from_study(oc.load_sample(), "C001"), norms)
>>> result.n_complete > 5, result.standing["ci_low"] <= result.standing["estimate"]
(True, True)
"""

from outcomes.benchmarking.compare import Benchmark, benchmark
from outcomes.benchmarking.practice import (
    CLIENT_COLUMNS,
    SESSION_COLUMNS,
    Practice,
    WorkbookError,
    practice_from_study,
    read_practice,
    write_template,
)

__all__ = ["benchmark", "Benchmark", "write_template", "read_practice", "practice_from_study",
           "Practice", "WorkbookError", "CLIENT_COLUMNS", "SESSION_COLUMNS"]
