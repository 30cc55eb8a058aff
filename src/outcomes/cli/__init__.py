"""The ``outcomes`` command: a thin shell over the Python API.

Exit codes: 0 success; 1 the data failed validation (the report is written); 2 a usage error.
Errors the user can fix are printed as one message naming the file, row and column, without
a traceback; they are translated in one place, :class:`Commands`. Each module of this
package adds the commands of one part of the toolkit to :func:`main`; heavy libraries are
imported inside the commands, so ``outcomes --help`` starts quickly.
"""

from __future__ import annotations

from . import data  # noqa: F401  (registers its commands)
from ._common import main

__all__ = ["main"]
