"""Measures: item responses to scale scores, and how far the scales can be trusted.

- :mod:`~outcomes.measures.scoring` — scale scores following each instrument's file
  (:func:`outcomes.score`), and the item matrix of one instrument;
- :mod:`~outcomes.measures.reliability` — Cronbach's alpha with the Feldt interval and
  McDonald's omega with a bootstrap interval, per scale (:func:`outcomes.reliability`), with
  the arithmetic in ``_coefficients`` and the one-factor model in ``_factor_analysis``;
- :mod:`~outcomes.measures.goals` — Goal Attainment Scaling T-scores.
"""
