"""Practice outcomes: how clients change, and how a body's coaches and sessions are followed.

- :mod:`~outcomes.practice.change` — reliable and clinically significant change per client,
  effect sizes (:func:`outcomes.change`); the arithmetic in ``_change_statistics`` and the
  Dask path in ``_change_partitioned``;
- :mod:`~outcomes.practice.improvement` — a trial's improvement split along the ladder of
  arms (:func:`outcomes.improvement_split`);
- :mod:`~outcomes.practice.trajectories` — expected session-by-session courses
  (:func:`outcomes.expected_trajectories`);
- :mod:`~outcomes.practice.monitoring` — flags at each session (:func:`outcomes.monitor`);
- :mod:`~outcomes.practice.funnel` and :mod:`~outcomes.practice.coach_effects` — funnel
  limits, shrinkage, and case-mix adjusted coach effects (:func:`outcomes.coach_effects`).
"""
