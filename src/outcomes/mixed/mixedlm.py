"""Mixed models beyond the random intercept: statsmodels' MixedLM, fitted with care.

Random slopes and random intercepts nested in coaches (clients within coaches, over
sessions) have no one-dimensional profiled likelihood; :func:`fit_mixedlm` fits them with
statsmodels' MixedLM. It tries several optimisers in turn, checks a gradient method's answer
with a derivative-free one, keeps statsmodels' warnings as notes instead of letting them
through, and reports the fixed-effect covariance as lme4 does. What any mixed fit gives is
held in :class:`MixedSolution`, plain arrays with the story of how the fit went.

Random intercepts alone (for coaches, and for clients nested in them) have a likelihood in
closed form from per-client sums (:mod:`outcomes.mixed.nested`): for those models
statsmodels' optimisers run on it and on its analytic score (the same criterion, a hundred
times faster than statsmodels' solve per coach), the estimate is read from the sums, and it
is taken on to the likelihood's maximum where an optimiser stopped short of it.

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
from functools import cache

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from outcomes._errors import ModelError
from outcomes.mixed.nested import (
    NestedSums,
    polish,
    profiled_estimates,
    profiled_gradient,
    profiled_loglik,
)

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
    from statsmodels.regression.mixed_linear_model import VCSpec

    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    groups = np.asarray(groups)
    Z = np.ones((len(y), 1)) if exog_re is None else np.asarray(exog_re, dtype=float)
    kwargs = {}
    if vc is not None:
        kwargs["exog_vc"] = _nested_spec(np.asarray(vc), groups, VCSpec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _summed_mixedlm()(y, X, groups, exog_re=Z, **kwargs)
    if Z.shape[1] == 1 and np.all(Z == 1.0):
        model.sums = NestedSums.from_arrays(X, y, groups, vc)
    messages: list[str] = [f"model: {w.message}" for w in caught]
    attempts: list[str] = []
    best, n_ok, skip_gradient = None, 0, False
    for name in optimisers:
        if skip_gradient and name in _GRADIENT:
            continue
        attempts.append(name)
        fit, ok, boundary = _attempt(model, name, reml, messages)
        if fit is not None and (best is None or (ok, fit.llf) > (best[2], best[0].llf)):
            best = (fit, name, ok)
        n_ok += ok
        if ok and (not boundary or n_ok > 1 or name not in _GRADIENT):
            break  # a boundary estimate of a gradient method is confirmed by a second one
        # gradient methods stall at a variance of zero: go on to the derivative-free ones
        skip_gradient = skip_gradient or (not ok and boundary and name in _GRADIENT)
    if best is None:
        raise ModelError("the mixed model could not be fitted with any optimiser "
                         f"({', '.join(optimisers)}): {'; '.join(messages)}")
    fit, name, converged = best
    if converged and name in _GRADIENT:
        check, ok, _ = _attempt(model, "powell", reml, [], start=fit.start)
        if ok and check is not None and check.llf > fit.llf + 1e-6:
            messages.append(f"powell, started from the {name} estimate, raised the "
                            f"log-likelihood by {check.llf - fit.llf:.3g}; its estimate "
                            "is kept.")
            fit, name = check, f"{name}, then powell"
    if _summed(model):
        fit = fit.polished(model, messages)
    sigma2 = fit.sigma2
    cov = sigma2 * np.linalg.inv(_xt_hinv_x(X, groups, Z, fit.random_cov / sigma2, vc,
                                            fit.vcomp / sigma2 if vc is not None else None))
    return MixedSolution(fit.coef, cov, fit.random_cov, sigma2, fit.llf, converged, name,
                         fit.vcomp, tuple(attempts), tuple(messages))


@dataclass(frozen=True, eq=False)
class _Fit:
    """One optimiser's estimate, and statsmodels' parameters to start another from it."""

    coef: np.ndarray
    sigma2: float
    random_cov: np.ndarray
    vcomp: np.ndarray
    llf: float
    start: object

    @classmethod
    def of(cls, model, result) -> _Fit:
        """The estimate of a MixedLM fit; from the sums when the model has them.

        statsmodels' own end-of-fit arithmetic loses precision as a variance ratio nears
        zero (its likelihood falls by thousands of units at a ratio of 1e-16); the sums
        give the same quantities exactly there.
        """
        params = result.params_object
        if _summed(model):
            coach = float(params.cov_re[0, 0])
            client = np.asarray(params.vcomp, dtype=float)
            try:
                coef, sigma2, llf = profiled_estimates(
                    model.sums, coach, float(client[0]) if client.size else 0.0,
                    reml=model.reml)
            except np.linalg.LinAlgError:
                pass
            else:
                return cls(coef, sigma2, np.array([[coach * sigma2]]), client * sigma2, llf,
                           params)
        return cls(np.asarray(result.fe_params, dtype=float), float(result.scale),
                   np.atleast_2d(np.asarray(result.cov_re, dtype=float)),
                   np.asarray(result.vcomp, dtype=float), float(result.llf), params)

    def polished(self, model, messages: list[str]) -> _Fit:
        """The estimate moved to the likelihood's maximum (:func:`outcomes.mixed.nested.polish`)
        when the model's likelihood comes from its sums."""
        nested = self.vcomp.size > 0
        coach, client = polish(model.sums, self.random_cov[0, 0] / self.sigma2,
                               float(self.vcomp[0]) / self.sigma2 if nested else None,
                               reml=model.reml)
        client = client or 0.0
        coef, sigma2, llf = profiled_estimates(model.sums, coach, client, reml=model.reml)
        if not llf >= self.llf:
            return self
        if llf > self.llf + 1e-6:
            messages.append(f"the likelihood's maximum lies {llf - self.llf:.3g} log-likelihood "
                            "units above the optimiser's answer; it is kept.")
        return _Fit(coef, sigma2, np.array([[coach * sigma2]]),
                    np.array([client * sigma2]) if nested else self.vcomp, llf, self.start)


def _summed(model) -> bool:
    """Whether the model's profiled likelihood can come from its sums."""
    return (getattr(model, "sums", None) is not None and model.cov_pen is None
            and model.fe_pen is None and model.k_vc <= 1)


@cache
def _summed_mixedlm():
    """statsmodels' MixedLM, whose profiled likelihood comes from sums when it can."""
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    class SummedMixedLM(MixedLM):
        """MixedLM with random intercepts for groups (and clients nested in them) whose
        profiled likelihood comes from :func:`outcomes.mixed.nested.profiled_loglik`:
        the same criterion, without a solve per group, for its optimisers' many calls."""

        sums: NestedSums | None = None

        def loglike(self, params, profile_fe=True):
            if not (profile_fe and _summed(self)):
                return super().loglike(params, profile_fe)
            try:
                return profiled_loglik(self.sums, *self._ratios(params), reml=self.reml)
            except np.linalg.LinAlgError:
                return super().loglike(params, profile_fe)

        def score(self, params, profile_fe=True):
            if not (profile_fe and _summed(self) and self._freepat is None):
                return super().score(params, profile_fe)
            try:
                gradient = profiled_gradient(self.sums, *self._ratios(params), reml=self.reml)
            except np.linalg.LinAlgError:
                return super().score(params, profile_fe)
            gradient = gradient[: 1 + self.k_vc]
            if not self.use_sqrt:
                return gradient
            # by the square roots, d/dr = 2 r d/d(r^2), at the positive roots as statsmodels
            # takes them (its parameters are read back through the variances)
            return gradient * 2 * np.sqrt([*self._ratios(params)][: 1 + self.k_vc])

        def get_fe_params(self, cov_re, vcomp, tol=1e-10):
            """The GLS fixed effects from the sums; statsmodels' own solve fails where a
            variance ratio is exactly zero, which a derivative-free optimiser can reach."""
            if _summed(self):
                try:
                    coef, _, _ = profiled_estimates(
                        self.sums, float(np.asarray(cov_re)[0, 0]),
                        float(np.asarray(vcomp)[0]) if self.k_vc else 0.0, reml=self.reml)
                except np.linalg.LinAlgError:
                    pass
                else:
                    return coef, False
            return super().get_fe_params(cov_re, vcomp, tol)

        def _ratios(self, params) -> tuple[float, float]:
            """The coach and client variance ratios of statsmodels' parameters."""
            if type(params) is not MixedLMParams:
                params = MixedLMParams.from_packed(params, self.k_fe, self.k_re,
                                                   self.use_sqrt, has_fe=False)
            return (float(params.cov_re[0, 0]),
                    float(params.vcomp[0]) if self.k_vc else 0.0)

    return SummedMixedLM


def _attempt(model, name: str, reml: bool, messages: list[str], start=None):
    """One MixedLM fit: ``(fit or None, ok, on the boundary)``; notes go to messages."""
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
    fit = _Fit.of(model, result)
    finite = np.isfinite(fit.llf) and all(np.all(np.isfinite(v)) for v in (
        fit.coef, fit.random_cov, fit.sigma2))
    if not finite:
        messages.append(f"{name}: the fit ended without a finite likelihood.")
        return None, False, False
    ok = bool(result.converged) and not any("failed" in n for n in notes)
    boundary = any("boundary" in n or "singular" in n for n in notes)
    return fit, ok, boundary


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
