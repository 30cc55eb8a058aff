"""Mixed (multilevel) models of clients nested in coaches, and of sessions within clients.

- :mod:`~outcomes.mixed.likelihood`: the exact profiled random-intercept likelihood, batched
  over bootstrap replicates;
- :mod:`~outcomes.mixed.mixedlm`: random slopes and nested intercepts by statsmodels' MixedLM;
- :mod:`~outcomes.mixed.design`: the model matrix (centring within coaches), one fit, and
  Rights & Sterba's variance parts;
- :mod:`~outcomes.mixed.resampling`: the cluster bootstrap, coaches resampled whole;
- :mod:`~outcomes.mixed.fit`: :func:`~outcomes.multilevel` and its result;
- :mod:`~outcomes.mixed.shares`: :func:`~outcomes.multilevel_shares`, the factor groups'
  shares beside the coach;
- :mod:`~outcomes.mixed.sessions`: ratings per session and lagged session pairs;
- :mod:`~outcomes.mixed.alliance`: :func:`~outcomes.alliance_outcome`, within- and
  between-client alliance effects.
"""
