"""The one-factor model fitted by maximum likelihood to a correlation matrix.

Maximum likelihood is the estimator behind R's ``factanal`` and
``psych::fa(fm = "ml")`` and lavaan's default, so results can be checked against them; it
is invariant to the scale of the items; and its uniquenesses are kept inside (0.005, 1]
by bounded optimisation, so Heywood cases cannot give omega above 1. The likelihood is
concentrated over the loadings (Joreskog 1967, Psychometrika 32:443-482): for given
uniquenesses Psi the best loading is the leading eigenvector of Psi^-1/2 R Psi^-1/2, and
the remaining discrepancy sum_{j>1}(e_j - log e_j) - (p - 1) is minimised over Psi.
The bootstrap refits every resample at once by iterating the stationarity condition
psi = 1 - lambda(psi)^2 from the full-sample solution (the same optimum; resamples where it
does not settle go to the optimiser).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["one_factor", "one_factor_batch", "LOWEST_UNIQUENESS"]

#: Uniquenesses are held at or above this, so that a Heywood case cannot give omega above 1.
LOWEST_UNIQUENESS = 0.005


def _loadings(psi: np.ndarray, corr: np.ndarray) -> tuple[np.ndarray, float]:
    """Best one-factor loadings for uniquenesses psi, and the discrepancy left."""
    scale = 1 / np.sqrt(psi)
    values, vectors = np.linalg.eigh(corr * np.outer(scale, scale))
    rest = values[:-1]
    discrepancy = float(np.sum(rest - np.log(rest)) - (len(psi) - 1))
    loading = np.sqrt(psi) * vectors[:, -1] * np.sqrt(max(values[-1] - 1, 0.0))
    return loading, discrepancy


def one_factor(corr: np.ndarray, *, start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood loadings of a one-factor model for a correlation matrix.

    Parameters
    ----------
    corr : ndarray (p, p)
        A correlation matrix, p >= 3.
    start : ndarray (p,), optional
        Starting uniquenesses (default (1 - 1/(2p)) / diag(corr^-1)).

    Returns
    -------
    ndarray (p,)
        Loadings, signed so that their sum is positive.

    Examples
    --------
    A correlation matrix made from loadings .8, .7, .6, .5 is fitted exactly:

    >>> lam = np.array([0.8, 0.7, 0.6, 0.5])
    >>> corr = np.outer(lam, lam); np.fill_diagonal(corr, 1)
    >>> np.round(one_factor(corr), 6)
    array([0.8, 0.7, 0.6, 0.5])
    """
    corr = np.asarray(corr, dtype=float)
    p = corr.shape[0]
    if start is None:
        try:
            start = (1 - 0.5 / p) / np.diag(np.linalg.inv(corr))
        except np.linalg.LinAlgError:
            start = np.full(p, 0.5)
    start = np.clip(start, LOWEST_UNIQUENESS, 1.0)

    def objective(psi: np.ndarray) -> tuple[float, np.ndarray]:
        loading, discrepancy = _loadings(psi, corr)
        gradient = (loading**2 + psi - np.diag(corr)) / psi**2
        return discrepancy, gradient

    fit = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                            bounds=[(LOWEST_UNIQUENESS, 1.0)] * p,
                            options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 1000})
    loading, _ = _loadings(fit.x, corr)
    return loading if loading.sum() >= 0 else -loading


def one_factor_batch(corrs: np.ndarray, start: np.ndarray, *, tol: float = 1e-10,
                      max_iter: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """ML one-factor loadings for a stack of correlation matrices (B, p, p) at once.

    Iterates the stationarity condition of the concentrated likelihood, psi = diag(R) -
    lambda(psi)^2 (held inside [0.005, 1]), from the full-sample uniquenesses ``start``.
    Returns the loadings (B, p) and which samples converged: near a Heywood case the
    iteration crawls, and those samples are better left to :func:`one_factor`.
    """
    psi = np.broadcast_to(start, corrs.shape[:2]).copy()
    active = np.ones(len(corrs), dtype=bool)
    loading = np.zeros_like(psi)
    for _ in range(max_iter):
        scale = 1 / np.sqrt(psi[active])
        values, vectors = np.linalg.eigh(corrs[active] * scale[:, :, None] * scale[:, None, :])
        step = np.sqrt(np.maximum(values[:, -1] - 1, 0.0))[:, None]
        loading[active] = vectors[:, :, -1] * step / scale
        new = np.clip(1 - loading[active] ** 2, LOWEST_UNIQUENESS, 1.0)
        moved = np.abs(new - psi[active]).max(axis=1) >= tol
        psi[active] = new
        active[np.flatnonzero(active)[~moved]] = False
        if not active.any():
            break
    return loading * np.where(loading.sum(axis=1) < 0, -1.0, 1.0)[:, None], ~active
