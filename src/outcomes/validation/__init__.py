"""Validation that loses nothing: every input row ends up valid or rejected with its reasons.

:func:`validate` checks one table and :func:`validate_tables` a whole study
(:mod:`outcomes.validation.rules`); the result is a :class:`ValidationReport`
(:mod:`outcomes.validation.report`). Cells are parsed column by column in
:mod:`outcomes.validation._parsing`.
"""

from outcomes.validation.report import TableCheck, ValidationReport
from outcomes.validation.rules import RULES, validate, validate_tables

__all__ = ["validate", "validate_tables", "ValidationReport", "TableCheck", "RULES"]
