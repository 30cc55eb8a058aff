"""Synthetic coaching studies whose true factor shares are known.

- :mod:`~outcomes.simulate.generative` — the latent model: factors, coach effects and an
  outcome with exact population shares, and the item generator;
- :mod:`~outcomes.simulate.tables` — the canonical tables written from one latent draw;
- :mod:`~outcomes.simulate.synthetic` — :func:`outcomes.simulate_study` and its result.
"""
