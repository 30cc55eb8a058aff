"""Mixed models beyond the random intercept: statsmodels' MixedLM, fitted with care.

Random slopes and random intercepts nested in coaches (clients within coaches, over
sessions) have no one-dimensional profiled likelihood; :func:`fit_mixedlm` fits them with
statsmodels' MixedLM. It tries several optimisers in turn, checks a gradient method's answer
with a derivative-free one, keeps statsmodels' warnings as notes instead of letting them
through, and reports the fixed-effect covariance as lme4 does. What any mixed fit gives is
held in :class:`MixedSolution`, plain arrays with the story of how the fit went.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(30), 10)
>>> x = rng.normal(size=300)
>>> y = 1 + 0.5 * x + rng.normal(size=30)[g] + rng.normal(size=300)
>>> sol = fit_mixedlm(y, np.column_stack([np.ones(300), x]), g)
>>> sol.coef.round(3).tolist(), sol.converged
([0.904, 0.548], True)
>>> sol.wald_table(["intercept", "x"], 0.95).columns.tolist()
['estimate', 'std_error', 'ci_low', 'ci_high', 'p_value']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from outcomes._errors import ModelError

__all__ = ["MixedSolution", "fit_mixedlm", "OPTIMISERS", "SINGULAR_TOLERANCE"]

OPTIMISERS = ("bfgs", "lbfgs", "cg", "powell", "nm")
_OPTIONS = {"bfgs": {"gtol": 1e-8}, "cg": {"gtol": 1e-8}, "powell": {"ftol": 1e-12},
            "nm": {"ftol": 1e-12}}
_GRADIENT = frozenset({"bfgs", "lbfgs", "cg"})
SINGULAR_TOLERANCE = 1e-4  # a random SD below this fraction of the residual SD is at zero


@dataclass(frozen=True, eq=False)
class MixedSolution:
    """What a MixedLM fit gives, in plain arrays, with the story of how it went."""

    coef: np.ndarray
    cov: np.ndarray
    random_cov: np.ndarray  # covariance of the coach-level random terms (intercept first)
    sigma2: float
    loglik: float
    converged: bool
    optimizer: str
    vcomp: np.ndarray = field(default_factory=lambda: np.zeros(0))
    attempts: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def wald_table(self, names: Sequence[str], ci_level: float) -> pd.DataFrame:
        """Fixed effects by term: estimate, std_error, Wald ci_low/ci_high, normal p_value."""
        se = np.sqrt(np.diag(self.cov))
        z = float(ndtri(0.5 + ci_level / 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * ndtr(-np.abs(self.coef / se))
        return pd.DataFrame({"estimate": self.coef, "std_error": se,
                             "ci_low": self.coef - z * se, "ci_high": self.coef + z * se,
                             "p_value": p}, index=pd.Index(names, name="term"))


def fit_mixedlm(
    y, X, groups, *, exog_re=None, vc=None, reml: bool = True,
    optimisers: Sequence[str] = OPTIMISERS,
) -> MixedSolution:
    """Fit statsmodels' MixedLM, trying ``optimisers`` in turn until one converges.

    ``exog_re`` holds the coach-level random-effect columns (intercept first); ``vc`` is a
    code per row of a random intercept nested in ``groups`` (unique within the data, such
    as an engagement id). A gradient method that stalls at a variance of zero hands over to
    the derivative-free ones; a gradient method's answer is checked by Powell's method
    started from it (kept when it raises the log-likelihood by more than 1e-6, as happens
    when L-BFGS reports convergence short of the optimum). statsmodels' warnings are caught
    and kept in ``messages``; the fixed-effect covariance is ``sigma² (X' H^-1 X)^-1`` as
    lme4 reports it.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    groups = np.asarray(groups)
    Z = np.ones((len(y), 1)) if exog_re is None else np.asarray(exog_re, dtype=float)
    kwargs = {}
    if vc is not None:
        kwargs["exog_vc"] = _nested_spec(np.asarray(vc), groups, VCSpec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MixedLM(y, X, groups, exog_re=Z, **kwargs)
    messages: list[str] = [f"model: {w.message}" for w in caught]
    attempts: list[str] = []
    best, n_ok, skip_gradient = None, 0, False
    for name in optimisers:
        if skip_gradient and name in _GRADIENT:
            continue
        attempts.append(name)
        result, ok, boundary = _attempt(model, name, reml, messages)
        if result is not None and (best is None or (ok, result.llf) > (best[2], best[0].llf)):
            best = (result, name, ok)
        n_ok += ok
        if ok and (not boundary or n_ok > 1 or name not in _GRADIENT):
            break  # a boundary estimate of a gradient method is confirmed by a second one
        # gradient methods stall at a variance of zero: go on to the derivative-free ones
        skip_gradient = skip_gradient or (not ok and boundary and name in _GRADIENT)
    if best is None:
        raise ModelError("the mixed model could not be fitted with any optimiser "
                         f"({', '.join(optimisers)}): {'; '.join(messages)}")
    result, name, converged = best
    if converged and name in _GRADIENT:
        check, ok, _ = _attempt(model, "powell", reml, [], start=result.params_object)
        if ok and check is not None and check.llf > result.llf + 1e-6:
            messages.append(f"powell, started from the {name} estimate, raised the "
                            f"log-likelihood by {check.llf - result.llf:.3g}; its estimate "
                            "is kept.")
            result, name = check, f"{name}, then powell"
    sigma2 = float(result.scale)
    random_cov = np.atleast_2d(np.asarray(result.cov_re, dtype=float))
    vcomp = np.asarray(result.vcomp, dtype=float)
    cov = sigma2 * np.linalg.inv(_xt_hinv_x(X, groups, Z, random_cov / sigma2, vc,
                                            vcomp / sigma2 if vc is not None else None))
    return MixedSolution(np.asarray(result.fe_params, dtype=float), cov, random_cov, sigma2,
                         float(result.llf), converged, name, vcomp, tuple(attempts),
                         tuple(messages))


def _attempt(model, name: str, reml: bool, messages: list[str], start=None):
    """One MixedLM fit: ``(result or None, ok, on the boundary)``; notes go to messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(reml=reml, method=[name], start_params=start, maxiter=5000,
                               **_OPTIONS.get(name, {}))
        except (np.linalg.LinAlgError, ValueError) as error:
            messages.append(f"{name}: {error}")
            return None, False, False
    notes = [f"{name}: {w.message}" for w in caught if "Retrying" not in str(w.message)]
    messages.extend(notes)
    finite = np.isfinite(result.llf) and all(
        np.all(np.isfinite(np.asarray(v, dtype=float)))
        for v in (result.fe_params, result.cov_re, result.scale))
    if not finite:
        messages.append(f"{name}: the fit ended without a finite likelihood.")
        return None, False, False
    ok = bool(result.converged) and not any("failed" in n for n in notes)
    boundary = any("boundary" in n or "singular" in n for n in notes)
    return result, ok, boundary


def _nested_spec(vc: np.ndarray, groups: np.ndarray, spec_class):
    """A VCSpec with one random intercept per nested unit, built group by group."""
    names = ["nested"]
    colnames: list[list[list[str]]] = [[]]
    mats: list[list[np.ndarray]] = [[]]
    for g in np.unique(groups):
        units = vc[groups == g]
        levels = np.unique(units)
        colnames[0].append([str(u) for u in levels])
        mats[0].append((units[:, None] == levels[None, :]).astype(float))
    order = np.argsort(groups, kind="stable")
    if np.any(order != np.arange(len(groups))):
        raise ModelError("rows must be sorted by group for nested random intercepts.")
    return spec_class(names, colnames, mats)


def _xt_hinv_x(X, groups, Z, psi, vc, vc_ratio) -> np.ndarray:
    """``X' H^-1 X`` with ``H = I + Z psi Z' (+ nested blocks)`` per group."""
    out = np.zeros((X.shape[1], X.shape[1]))
    for g in np.unique(groups):
        rows = groups == g
        z = Z[rows]
        h = np.eye(int(rows.sum())) + z @ psi @ z.T
        if vc is not None:
            units = vc[rows]
            same = units[:, None] == units[None, :]
            h = h + float(vc_ratio[0]) * same
        x = X[rows]
        out += x.T @ np.linalg.solve(h, x)
    return out
