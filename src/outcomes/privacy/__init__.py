"""Disclosure control: nothing published rests on fewer than k clients.

:mod:`outcomes.privacy.suppression` withholds small cells (with complementary suppression so
that no withheld cell can be worked out from totals) and masks statistics of small groups;
pseudonyms for coaches and the search for identifiers in published text live beside it.
"""

from outcomes.privacy.suppression import *  # noqa: F403
from outcomes.privacy.suppression import __all__  # noqa: F401
