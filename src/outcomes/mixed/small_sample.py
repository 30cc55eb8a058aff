"""Small-sample inference for the fixed effects of a mixed model: Satterthwaite's df.

With few coaches a fixed effect's Wald (normal) interval is too narrow: its standard error
rests on variance components estimated from few coaches. Satterthwaite's approximation
(Satterthwaite 1946; Giesbrecht & Burns 1985) gives the t distribution's degrees of freedom
for a contrast ``l'b`` with variance ``v = l' C l``, ``C = (X' V^-1 X)^-1``:

    df = 2 v² / (g' A g),    g = d v / d psi,    A = 2 H^-1,

where ``psi`` are the variance parameters, ``g`` the gradient of the contrast's variance with
respect to them and ``A`` their asymptotic covariance, twice the inverse Hessian ``H`` of the
(RE)ML deviance. As lmerTest (Kuznetsova, Brockhoff & Christensen 2017, *J Stat Softw*
82(13)) does, ``psi`` is lme4's parametrisation: the lower triangle of the relative Cholesky
factor ``Lambda`` of the coach-level covariance (``T = sigma² Lambda Lambda'``) and the
residual standard deviation ``sigma``; the Hessian is inverted over its positive eigenvalues
(above 1e-8). The derivatives are analytic here (lmerTest differentiates numerically): with
``V = Z T Z' + sigma² I`` linear in ``phi`` (the elements of ``T`` and ``sigma²``),
``P = V^-1 - V^-1 X C X' V^-1``, ``V_k = dV / dphi_k`` and ``r = y - X b``,

    dC / dphi_k          = C X' V^-1 V_k V^-1 X C
    d² dev / dphi_k dphi_l = -tr(P V_k P V_l) + 2 r' V^-1 V_k P V_l V^-1 r     (REML)

(``tr(V^-1 V_k V^-1 V_l)`` in the trace for ML), carried to ``psi`` by the chain rule,
including the gradient term that matters when a variance lies on its boundary at zero.
Everything is summed coach by coach, so the cost grows with the sum of squared coach sizes.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(12), 8)
>>> x = rng.normal(size=12)[g]                       # a coach-level predictor
>>> y = 1 + 0.5 * x + rng.normal(size=12)[g] + rng.normal(size=96)
>>> X = np.column_stack([np.ones(96), x])
>>> df = satterthwaite_df(X, np.ones((96, 1)), g, y, np.array([[0.9]]), 1.1)
>>> bool(9 < df[1] < 12)                             # about coaches minus two
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.special import stdtr, stdtrit

if TYPE_CHECKING:
    from outcomes.mixed.design import Design
    from outcomes.mixed.mixedlm import MixedSolution

__all__ = ["DF_METHODS", "DfMethod", "satterthwaite_df", "fixed_effect_df", "t_table",
           "VarianceParameters"]

#: How the fixed effects' intervals and p-values are computed (``df_method``).
DF_METHODS = ("satterthwaite", "wald")
DfMethod = Literal["satterthwaite", "wald"]

_EIGEN_TOLERANCE = 1e-8  # as lmerTest: Hessian eigenvalues at or below this are left out


@dataclass(frozen=True, eq=False)
class VarianceParameters:
    """lme4's variance parameters ``(theta, sigma)`` and how ``phi`` depends on them.

    ``phi`` holds the lower triangle of ``T`` (column by column) and then ``sigma²``;
    ``jacobian[k, a] = d phi_k / d psi_a`` and ``hessians[k]`` is ``d² phi_k / d psi²``.
    """

    psi: np.ndarray
    jacobian: np.ndarray
    hessians: np.ndarray
    pairs: tuple[tuple[int, int], ...]

    @classmethod
    def at(cls, random_cov: np.ndarray, sigma2: float) -> VarianceParameters:
        q = random_cov.shape[0]
        sigma = float(np.sqrt(sigma2))
        lam = _cholesky(random_cov / sigma2)
        pairs = tuple((i, j) for j in range(q) for i in range(j, q))
        m = len(pairs) + 1
        units = [np.zeros((q, q)) for _ in pairs]
        for unit, (i, j) in zip(units, pairs, strict=True):
            unit[i, j] = 1.0
        S = lam @ lam.T
        dS = [e @ lam.T + lam @ e.T for e in units]
        jac = np.zeros((m, m))
        hess = np.zeros((m, m, m))
        for k, (i, j) in enumerate(pairs):
            for t, d in enumerate(dS):
                jac[k, t] = sigma2 * d[i, j]
                hess[k, t, -1] = hess[k, -1, t] = 2 * sigma * d[i, j]
                for u, e in enumerate(units):
                    hess[k, t, u] = sigma2 * (units[t] @ e.T + e @ units[t].T)[i, j]
            jac[k, -1] = 2 * sigma * S[i, j]
            hess[k, -1, -1] = 2 * S[i, j]
        jac[-1, -1] = 2 * sigma
        hess[-1, -1, -1] = 2.0
        psi = np.r_[[lam[i, j] for i, j in pairs], sigma]
        return cls(psi, jac, hess, pairs)


def _cholesky(S: np.ndarray) -> np.ndarray:
    """Lower-triangular ``L`` with ``L L' = S`` and a diagonal >= 0 (S may be singular)."""
    q = S.shape[0]
    L = np.zeros((q, q))
    for j in range(q):
        pivot = S[j, j] - L[j, :j] @ L[j, :j]
        if pivot <= 1e-14 * max(1.0, abs(S[j, j])):
            continue  # a variance (or a combination) at zero: the column stays zero
        L[j, j] = np.sqrt(pivot)
        L[j + 1:, j] = (S[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L


def _blocks(Z: np.ndarray, groups: np.ndarray, pairs) -> tuple[list, list]:
    """Row indices per coach and, per coach, ``dV / dphi_k`` for each variance parameter."""
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(groups[order]) != 0, True])
    rows = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    derivs = []
    for idx in rows:
        z = Z[idx]
        mats = [np.outer(z[:, i], z[:, j]) + (np.outer(z[:, j], z[:, i]) if i != j else 0)
                for i, j in pairs]
        derivs.append([*mats, np.eye(len(idx))])
    return rows, derivs


def _phi_derivatives(X, Z, groups, y, random_cov, sigma2, reml, pairs):
    """C, the gradient and Hessian of the deviance in ``phi``, and ``d C / d phi``."""
    rows, derivs = _blocks(Z, groups, pairs)
    m, p = len(pairs) + 1, X.shape[1]
    inverses = []
    xwx, xwy = np.zeros((p, p)), np.zeros(p)
    for idx in rows:
        V = Z[idx] @ random_cov @ Z[idx].T + sigma2 * np.eye(len(idx))
        W = np.linalg.inv(V)
        inverses.append(W)
        xwx += X[idx].T @ W @ X[idx]
        xwy += X[idx].T @ W @ y[idx]
    C = np.linalg.inv(xwx)
    r = y - X @ (C @ xwy)
    K, M = np.zeros((m, p, p)), np.zeros((m, m, p, p))
    trace_w, trace_ww = np.zeros(m), np.zeros((m, m))
    quad, uwu, xwu = np.zeros(m), np.zeros((m, m)), np.zeros((m, p))
    for idx, W, A in zip(rows, inverses, derivs, strict=True):
        WX, Wr = W @ X[idx], W @ r[idx]
        WA = [W @ a for a in A]
        F = [a @ WX for a in A]
        u = [a @ Wr for a in A]
        for k in range(m):
            K[k] += WX.T @ F[k]
            trace_w[k] += np.trace(WA[k])
            quad[k] += Wr @ u[k]
            xwu[k] += WX.T @ u[k]
            for j in range(k, m):
                trace_ww[k, j] += np.sum(WA[k] * WA[j].T)
                M[k, j] += F[k].T @ W @ F[j]
                uwu[k, j] += u[k] @ W @ u[j]
    upper = np.triu_indices(m, 1)
    trace_ww[upper[::-1]] = trace_ww[upper]
    uwu[upper[::-1]] = uwu[upper]
    CK = np.einsum("ij,kjl->kil", C, K)
    trace_c = np.einsum("kii->k", CK)
    gradient = trace_w - quad - (trace_c if reml else 0.0)
    hess = np.zeros((m, m))
    for k in range(m):
        for j in range(k, m):
            trace = trace_ww[k, j]
            if reml:
                trace += -2 * np.sum(C * M[k, j].T) + np.sum(CK[k] * CK[j].T)
            hess[k, j] = hess[j, k] = -trace + 2 * (uwu[k, j] - xwu[k] @ C @ xwu[j])
    dC = np.einsum("kil,lj->kij", CK, C)
    return C, gradient, hess, dC


def satterthwaite_df(X, Z, groups, y, random_cov, sigma2, *, reml: bool = True,
                     contrasts=None) -> np.ndarray:
    """Satterthwaite degrees of freedom of each contrast of the fixed effects.

    Parameters
    ----------
    X : ndarray of shape (n, p)
        Fixed-effect model matrix (with the intercept column).
    Z : ndarray of shape (n, q)
        Coach-level random-effect columns (intercept first).
    groups : ndarray of shape (n,)
        The coach of each row.
    y : ndarray of shape (n,)
        Outcome.
    random_cov : ndarray of shape (q, q)
        Estimated covariance ``T`` of the coach effects.
    sigma2 : float
        Estimated residual variance.
    reml : bool, default True
        Whether the fit is REML (the deviance differentiated is then REML's).
    contrasts : ndarray of shape (c, p), optional
        Rows ``l``; default one row per fixed effect (the identity).

    Returns
    -------
    ndarray of shape (c,)
        Degrees of freedom; ``inf`` where the contrast's variance does not depend on the
        variance parameters.
    """
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float).reshape(len(X), -1)
    y = np.asarray(y, dtype=float)
    T = np.atleast_2d(np.asarray(random_cov, dtype=float))
    params = VarianceParameters.at(T, float(sigma2))
    C, grad_phi, hess_phi, dC_phi = _phi_derivatives(X, Z, np.asarray(groups), y, T,
                                                     float(sigma2), reml, params.pairs)
    J = params.jacobian
    hess = J.T @ hess_phi @ J + np.einsum("k,kab->ab", grad_phi, params.hessians)
    values, vectors = np.linalg.eigh(0.5 * (hess + hess.T))
    keep = values > _EIGEN_TOLERANCE
    vcov_psi = 2 * (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    dC = np.einsum("ka,kij->aij", J, dC_phi)
    L = np.eye(X.shape[1]) if contrasts is None else np.atleast_2d(contrasts)
    variance = np.einsum("ci,ij,cj->c", L, C, L)
    g = np.einsum("ci,aij,cj->ca", L, dC, L)
    denominator = np.einsum("ca,ab,cb->c", g, vcov_psi, g)
    with np.errstate(divide="ignore"):
        return np.where(denominator > 0, 2 * variance**2 / denominator, np.inf)


def fixed_effect_df(design: Design, slopes, solution: MixedSolution, reml: bool,
                    df_method: str) -> np.ndarray:
    """Degrees of freedom of each fixed effect of a fit: Satterthwaite's, or infinite (Wald)."""
    p = 1 + design.X.shape[1]
    if df_method == "wald":
        return np.full(p, np.inf)
    X = np.column_stack([np.ones(design.n), design.X])
    Z = np.column_stack([np.ones(design.n), design.X[:, list(slopes)]])
    return satterthwaite_df(X, Z, design.groups, design.y, solution.random_cov,
                            solution.sigma2, reml=reml)


def t_table(coef, cov, df, names, ci_level: float) -> pd.DataFrame:
    """Fixed effects by term: estimate, std_error, t intervals and p-values, and df.

    ``df`` of ``inf`` gives the Wald (normal) interval and p-value.
    """
    coef = np.asarray(coef, dtype=float)
    se = np.sqrt(np.diag(np.asarray(cov, dtype=float)))
    df = np.broadcast_to(np.asarray(df, dtype=float), coef.shape)
    quantile = stdtrit(df, 0.5 + ci_level / 2)  # Student's t quantile
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stdtr(df, -np.abs(coef / se))  # two-sided
    return pd.DataFrame({"estimate": coef, "std_error": se, "ci_low": coef - quantile * se,
                         "ci_high": coef + quantile * se, "p_value": p, "df": df},
                        index=pd.Index(list(names), name="term"))
