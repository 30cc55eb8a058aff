"""The likelihood of random intercepts for coaches and for clients within them, from sums.

With coaches as groups, a random intercept per coach and one per client (nested), a coach's
rows have the covariance ``sigma² V`` with

    V = I + g_client sum_j 1_j 1_j' + g_coach 1 1'

(``g = variance / sigma²``; ``1_j`` marks client j's ``n_j`` rows). Its inverse and
determinant have closed forms. With ``a_j = 1 / (1 + g_client n_j)``,
``m = sum_j n_j a_j`` and, for columns u, v with client sums ``U_j``, ``V_j``,

    u' V^-1 v = u'v - g_client sum_j a_j U_j V_j
                - g_coach / (1 + g_coach m) (sum_j a_j U_j)(sum_j a_j V_j)
    log|V|    = sum_j log(1 + g_client n_j) + log(1 + g_coach m)

(Sherman and Morrison's formula applied twice; Searle, Casella & McCulloch 1992, *Variance
Components*, ch. 4). So ``X'V^-1X``, ``X'V^-1y`` and ``y'V^-1y`` and with them the
(RE)ML likelihood come from the cross-products of ``[X, y]`` and the per-client sums: an
evaluation costs one pass over the clients, where statsmodels' MixedLM solves a system per
coach. :func:`profiled_loglik` gives statsmodels' profiled criterion (fixed effects and
``sigma²`` profiled out, its constants included), so its optimisers take the same steps on
it; :func:`outcomes.mixed.mixedlm.fit_mixedlm` uses it for these models.

Examples
--------
>>> rng = np.random.default_rng(1)
>>> coach = np.repeat(np.arange(20), 30)
>>> client = np.repeat(np.arange(120), 5)
>>> y = rng.normal(size=20)[coach] + rng.normal(size=120)[client] + rng.normal(size=600)
>>> sums = NestedSums.from_arrays(np.ones((600, 1)), y, coach, client)
>>> round(profiled_loglik(sums, 1.0, 1.0, reml=True), 4)
-972.3095
>>> coach_ratio, client_ratio = polish(sums, 1.0, 1.0, reml=True)
>>> round(coach_ratio, 3), round(client_ratio, 3)
(0.428, 1.001)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NestedSums", "profiled_loglik", "profiled_estimates", "profiled_gradient",
           "polish"]

LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True, eq=False)
class NestedSums:
    """What the likelihood needs of ``[X, y]``: its cross-products and its sums per client.

    The columns other than a constant one are centred at their means when ``X`` holds a
    constant column, which leaves the profiled likelihood unchanged (the fit's column space
    is the same) and keeps the sums small.

    Parameters
    ----------
    cross : ndarray of shape (p + 1, p + 1)
        ``W'W`` with ``W = [X, y]``.
    sums : ndarray of shape (clients, p + 1)
        Each client's column sums of ``W``, clients ordered by coach.
    sizes : ndarray of shape (clients,)
        Each client's number of rows.
    starts : ndarray of shape (coaches,)
        Where each coach's clients begin in ``sums``.
    centre : ndarray of shape (p + 1,)
        What was subtracted from each column of ``W`` (zeros when nothing was).
    constant, level : int, float
        The constant column of ``X`` and its value (-1: none).
    """

    cross: np.ndarray
    sums: np.ndarray
    sizes: np.ndarray
    starts: np.ndarray
    centre: np.ndarray
    constant: int = -1
    level: float = 1.0

    @classmethod
    def from_arrays(cls, X, y, groups, units=None) -> NestedSums:
        """Sums of design ``X`` (n, p) and outcome ``y`` by coach ``groups`` and client
        ``units`` (a client within its coach, as statsmodels nests them: the same code under
        two coaches is two clients; None: a coach's rows are one unit)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        W = np.column_stack([X, y])
        constants = np.flatnonzero(np.all(X == X[:1], axis=0) & (X[0] != 0))
        constant = int(constants[0]) if constants.size else -1
        centre = np.zeros(W.shape[1])
        if constant >= 0:
            keep = np.ones(W.shape[1], dtype=bool)
            keep[constants] = False
            centre[keep] = W[:, keep].mean(axis=0)
            W -= centre
        _, coach = np.unique(np.asarray(groups), return_inverse=True)
        coach = coach.ravel()
        if units is None:
            unit = coach
        else:  # a unit within its coach: the same code under two coaches is two units
            _, code = np.unique(np.asarray(units), return_inverse=True)
            _, unit = np.unique(np.column_stack([coach, code.ravel()]), axis=0,
                                return_inverse=True)
            unit = unit.ravel()
        n_units = int(unit.max()) + 1
        sums = np.zeros((n_units, W.shape[1]))
        np.add.at(sums, unit, W)
        sizes = np.bincount(unit, minlength=n_units).astype(float)
        unit_coach = np.zeros(n_units, dtype=np.int64)
        unit_coach[unit] = coach
        order = np.argsort(unit_coach, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(unit_coach[order]) != 0])
        return cls(W.T @ W, sums[order], sizes[order], starts, centre, constant,
                   float(X[0, constant]) if constant >= 0 else 1.0)

    @property
    def n(self) -> int:
        return int(self.sizes.sum())

    @property
    def p(self) -> int:
        return self.cross.shape[0] - 1


def profiled_loglik(sums: NestedSums, coach_ratio: float, client_ratio: float, *,
                    reml: bool) -> float:
    """statsmodels' MixedLM profiled log-likelihood at the two variance ratios.

    ``coach_ratio`` and ``client_ratio`` are the coach and client variances divided by the
    residual variance; the fixed effects and the residual variance are profiled out, and
    the constants are statsmodels' (:meth:`MixedLM.loglike` with ``profile_fe=True``).
    """
    return _profile(sums, coach_ratio, client_ratio, reml)[0]


def profiled_estimates(sums: NestedSums, coach_ratio: float, client_ratio: float, *,
                       reml: bool) -> tuple[np.ndarray, float, float]:
    """The fixed effects (GLS), the residual variance and the log-likelihood at the ratios.

    The residual variance is the profiled one, ``r'V^-1 r / (n - p)`` for REML and
    ``/ n`` for ML, as statsmodels and lme4 estimate it.
    """
    value, coef, qf = _profile(sums, coach_ratio, client_ratio, reml)
    if sums.constant >= 0:  # undo the centring: only the constant's coefficient moves
        coef = coef.copy()
        coef[sums.constant] -= (sums.centre[:-1] @ coef - sums.centre[-1]) / sums.level
    return coef, qf / (sums.n - (sums.p if reml else 0)), value


def profiled_gradient(sums: NestedSums, coach_ratio: float, client_ratio: float, *,
                      reml: bool) -> np.ndarray:
    """The derivatives of :func:`profiled_loglik` by the coach and the client ratio.

    With ``v = [-b, 1]`` at the GLS fixed effects ``b``, ``d r'V^-1 r = v' dM v`` and
    ``d log|X'V^-1 X| = tr((X'V^-1 X)^-1 dM_xx)``, where ``M = W'V^-1 W``; the derivatives of
    ``M`` and of ``log|V|`` follow from the closed forms above, client sum by client sum.
    """
    coach = coach_ratio
    parts = _Parts.of(sums, coach, client_ratio)
    n, t, scale = sums.sizes, parts.t, parts.scale
    na = n * parts.a
    dt = -np.add.reduceat(na[:, None] * parts.weighted, sums.starts, axis=0)  # by client
    dm = -np.add.reduceat(na**2, sums.starts)
    by_coach = -((scale**2)[:, None] * t).T @ t
    cross = ((coach * scale)[:, None] * t).T @ dt
    by_client = (((coach * scale) ** 2 * dm)[:, None] * t).T @ t - cross - cross.T \
        - parts.weighted.T @ parts.weighted
    logdet = (float((parts.m * scale).sum()), float(na.sum() + (coach * dm * scale).sum()))
    p = sums.p
    xvx = parts.M[:p, :p]
    v = np.r_[-np.linalg.solve(xvx, parts.M[:p, p]), 1.0]
    qf = float(v @ parts.M @ v)
    dof = sums.n - (p if reml else 0)
    out = np.empty(2)
    for i, dM in enumerate((by_coach, by_client)):
        out[i] = -logdet[i] / 2 - dof * float(v @ dM @ v) / (2 * qf)
        if reml:
            out[i] -= float(np.trace(np.linalg.solve(xvx, dM[:p, :p]))) / 2
    return out


def polish(sums: NestedSums, coach_ratio: float, client_ratio: float | None, *,
           reml: bool) -> tuple[float, float | None]:
    """The ratios at the likelihood's maximum, from a point near it (an optimiser's answer).

    L-BFGS-B on the ratios themselves (each at least 0) with the analytic gradient, to the
    precision of the arithmetic: statsmodels' optimisers stop where their tolerances say,
    which on a flat likelihood can be 1e-5 short in the ratios. ``client_ratio`` None: no
    client level. The start is returned when no better point is found.
    """
    from scipy.optimize import minimize

    nested = client_ratio is not None
    start = np.array([coach_ratio, client_ratio] if nested else [coach_ratio])

    def objective(ratios: np.ndarray) -> tuple[float, np.ndarray]:
        both = (float(ratios[0]), float(ratios[1]) if nested else 0.0)
        return (-profiled_loglik(sums, *both, reml=reml),
                -profiled_gradient(sums, *both, reml=reml)[: len(ratios)])

    try:
        found = minimize(objective, start, jac=True, method="L-BFGS-B",
                         bounds=[(0.0, None)] * len(start),
                         options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 200})
    except np.linalg.LinAlgError:
        return coach_ratio, client_ratio
    if not (np.all(np.isfinite(found.x)) and found.fun <= objective(start)[0]):
        return coach_ratio, client_ratio
    return float(found.x[0]), float(found.x[1]) if nested else None


@dataclass(frozen=True, eq=False)
class _Parts:
    """The pieces of ``M = W'V^-1 W`` at two ratios: ``a_j``, ``a_j`` times the client sums,
    per coach ``t`` and ``m``, ``1 / (1 + g_coach m)``, and ``M`` itself."""

    a: np.ndarray
    weighted: np.ndarray
    t: np.ndarray
    m: np.ndarray
    scale: np.ndarray
    M: np.ndarray

    @classmethod
    def of(cls, sums: NestedSums, coach: float, client: float) -> _Parts:
        a = 1.0 / (1.0 + client * sums.sizes)
        weighted = a[:, None] * sums.sums
        t = np.add.reduceat(weighted, sums.starts, axis=0)
        m = np.add.reduceat(sums.sizes * a, sums.starts)
        scale = 1.0 / (1.0 + coach * m)
        M = sums.cross - client * (weighted.T @ sums.sums) - ((coach * scale)[:, None] * t).T @ t
        return cls(a, weighted, t, m, scale, M)


def _profile(sums: NestedSums, coach: float, client: float,
             reml: bool) -> tuple[float, np.ndarray, float]:
    """The profiled criterion, the fixed effects of the centred columns and ``r'V^-1 r``."""
    parts = _Parts.of(sums, coach, client)
    M = parts.M
    logdet = float(np.log1p(client * sums.sizes).sum() + np.log1p(coach * parts.m).sum())
    p = sums.p
    factor = np.linalg.cholesky(M[:p, :p])
    half = np.linalg.solve(factor, M[:p, p])
    qf = float(M[p, p] - half @ half)
    dof = sums.n - (p if reml else 0)
    value = -logdet / 2 - dof * (np.log(qf) + LOG_2PI - np.log(dof) + 1) / 2
    if reml:
        value -= float(np.log(np.diag(factor)).sum())
    return float(value), np.linalg.solve(factor.T, half), qf
