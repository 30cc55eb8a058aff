"""The factor-share models: each factor's share of the outcome's explained variance.

From the bottom up: :mod:`~outcomes.shares.moments` (sufficient statistics),
:mod:`~outcomes.shares.subsets` (the R² of every subset of factors), ``_columns`` and
:mod:`~outcomes.shares.design` (a model matrix from a tidy frame),
:mod:`~outcomes.shares.bootstrap` (case and cluster bootstrap),
:mod:`~outcomes.shares.metrics` (LMG and the other importance metrics),
:mod:`~outcomes.shares.decomposition` (``decompose``), :mod:`~outcomes.shares.dominance`
(``dominance``) and :mod:`~outcomes.shares.power` (``power``, the planning simulation).
"""
