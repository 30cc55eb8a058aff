"""The ``outcomes`` command: a thin shell over the Python API.

Exit codes: 0 success; 1 the data failed validation (the report is written from the valid
rows, and stderr counts the rows left out; when nothing can be used, the message alone);
2 a usage error.
Errors the user can fix are printed as one message naming the file, row and column, without
a traceback; they are translated in one place, :class:`~outcomes.cli._common.Commands`.

Each public module of this package adds the commands of one part of the toolkit to
:func:`main` when it is imported; all of them are imported here. Heavy libraries are
imported inside the commands, so ``outcomes --help`` starts quickly.
"""

from __future__ import annotations

import importlib
import pkgutil

from outcomes.cli._common import main

__all__ = ["main"]

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
