"""The error and warning classes of `outcomes`.

Every error a user can cause says where (file, row, column), what was found, and what to
do about it. The command line turns :class:`DataError` into exit code 1 and
:class:`UsageError` into exit code 2, without a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OutcomesError",
    "DataError",
    "UsageError",
    "ModelError",
    "OutcomesWarning",
    "DataWarning",
    "ConvergenceWarning",
    "locate",
]


def locate(file: str | None = None, row: Any = None, column: str | None = None) -> str:
    """Say where a problem is, as ``file, row 14, column "date"``.

    Examples
    --------
    >>> locate("sessions.csv", 14, "date")
    'sessions.csv, row 14, column "date"'
    >>> locate(column="score")
    'column "score"'
    """
    parts = []
    if file:
        parts.append(str(file))
    if row is not None:
        parts.append(f"row {row}")
    if column:
        parts.append(f'column "{column}"')
    return ", ".join(parts)


class OutcomesError(Exception):
    """Base class of every error `outcomes` raises on purpose."""


class DataError(OutcomesError):
    """The data cannot be used as given.

    Parameters
    ----------
    message : str
        What was found and why it is a problem.
    file, row, column : optional
        Where it was found: the source file, the line in that file, the column.
    fix : str, optional
        What the user can do about it.

    Examples
    --------
    >>> str(DataError("2024-02-30 is not a date", file="sessions.csv", row=14,
    ...               column="date", fix="Use YYYY-MM-DD."))
    'sessions.csv, row 14, column "date": 2024-02-30 is not a date. Use YYYY-MM-DD.'
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: Any = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.fix = fix
        super().__init__(self._text())

    def _text(self) -> str:
        where = locate(self.file, self.row, self.column)
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class UsageError(OutcomesError):
    """A function or command was called with arguments that cannot work."""


class ModelError(OutcomesError):
    """A model could not be estimated from the data given."""


class OutcomesWarning(UserWarning):
    """Base class of the warnings `outcomes` gives."""


class DataWarning(OutcomesWarning):
    """Something in the data deserves attention but does not stop the work."""


class ConvergenceWarning(OutcomesWarning):
    """An iterative fit did not converge cleanly."""
