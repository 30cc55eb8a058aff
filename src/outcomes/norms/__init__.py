"""A coaching body's norms: aggregates a coach can benchmark a practice against.

:mod:`outcomes.norms.build` turns a study into a norms document that holds aggregates only,
each behind at least ``k`` clients; :mod:`outcomes.norms.document` holds the document's
format and schema, reads and checks a norms file, and gives the :class:`Norms` around it.
Both are re-exported here.
"""

from outcomes.norms.build import *  # noqa: F403
from outcomes.norms.build import __all__ as _build
from outcomes.norms.document import *  # noqa: F403
from outcomes.norms.document import __all__ as _document

__all__ = [*_build, *_document]
