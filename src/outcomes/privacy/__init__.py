"""Disclosure control: nothing published rests on fewer than k clients, and names no one.

:mod:`outcomes.privacy.suppression` withholds small cells (with complementary suppression so
that no withheld cell can be worked out from totals) and masks statistics of small groups;
:mod:`outcomes.privacy.identifiers` gives coaches keyed pseudonyms and searches published
text for client, engagement and coach identifiers; :mod:`outcomes.privacy.disclosure` is the
gate every published number passes through, with its log. All are re-exported here.
"""

from outcomes.privacy.disclosure import *  # noqa: F403
from outcomes.privacy.disclosure import __all__ as _disclosure
from outcomes.privacy.identifiers import *  # noqa: F403
from outcomes.privacy.identifiers import __all__ as _identifiers
from outcomes.privacy.suppression import *  # noqa: F403
from outcomes.privacy.suppression import __all__ as _suppression

__all__ = [*_suppression, *_disclosure, *_identifiers]
