"""Random intercepts for coaches and for clients within them, from per-client sums.

statsmodels' MixedLM is the reference: at any variance ratios the sums give its profiled
log-likelihood, its score and its GLS estimates to the last digits, on balanced and unbalanced
data, with and without the client level. Fits through ``fit_mixedlm`` reach the likelihood's
maximum, also where statsmodels' own arithmetic breaks down as a variance nears zero. (The
lme4 known answers of the same fits are in tests/test_mixed.py and tests/test_longitudinal.py.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams, VCSpec

from outcomes.mixed.mixedlm import _nested_spec, fit_mixedlm
from outcomes.mixed.nested import (
    NestedSums,
    polish,
    profiled_estimates,
    profiled_gradient,
    profiled_loglik,
)

RATIOS = [(0.3, 0.2), (1e-4, 2.0), (0.05, 1e-6), (3.0, 0.01), (0.0, 0.5), (0.7, 0.0)]


def _data(seed: int, n_coaches: int = 12, coach_sd: float = 1.0, client_sd: float = 1.0,
          predictors: int = 2):
    """Unbalanced nested data: coaches with 2-8 clients of 1-7 rows, sorted by coach."""
    rng = np.random.default_rng(seed)
    coach, client = [], []
    for c in range(n_coaches):
        for _ in range(int(rng.integers(2, 9))):
            rows = int(rng.integers(1, 8))
            coach += [c] * rows
            client += [len(set(client))] * rows
    coach, client = np.array(coach), np.array(client)
    n = len(coach)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, predictors))])
    y = (X @ rng.normal(size=predictors + 1) + coach_sd * rng.normal(size=n_coaches)[coach]
         + client_sd * rng.normal(size=client.max() + 1)[client] + rng.normal(size=n))
    return y, X, coach, client


def _statsmodels(y, X, coach, client, reml: bool) -> MixedLM:
    kwargs = {} if client is None else {"exog_vc": _nested_spec(client, coach, VCSpec)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MixedLM(y, X, coach, exog_re=np.ones((len(y), 1)), **kwargs)
    model.reml, model.cov_pen, model.fe_pen, model._freepat = reml, None, None, None
    return model


def _packed(coach_ratio: float, client_ratio: float, nested: bool) -> np.ndarray:
    return np.sqrt([coach_ratio, client_ratio] if nested else [coach_ratio])


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("nested", [True, False])
def test_the_sums_give_statsmodels_likelihood_score_and_estimates(reml, nested):
    y, X, coach, client = _data(1)
    model = _statsmodels(y, X, coach, client if nested else None, reml)
    sums = NestedSums.from_arrays(X, y, coach, client if nested else None)
    for coach_ratio, client_ratio in RATIOS:
        if not nested:
            client_ratio = 0.0
        if coach_ratio == 0.0 or (nested and client_ratio == 0.0):
            continue  # statsmodels divides by the variances: compared at positive ones
        packed = _packed(coach_ratio, client_ratio, nested)
        assert profiled_loglik(sums, coach_ratio, client_ratio, reml=reml) == pytest.approx(
            model.loglike(packed), rel=1e-12)
        gradient = profiled_gradient(sums, coach_ratio, client_ratio, reml=reml)
        np.testing.assert_allclose(gradient[: 1 + nested] * 2 * packed, model.score(packed),
                                   rtol=1e-8, atol=1e-8)
        params = MixedLMParams.from_packed(packed, model.k_fe, model.k_re, True, has_fe=False)
        fe, _ = model.get_fe_params(params.cov_re, params.vcomp)
        coef, sigma2, loglik = profiled_estimates(sums, coach_ratio, client_ratio, reml=reml)
        np.testing.assert_allclose(coef, fe, rtol=1e-10, atol=1e-12)
        assert sigma2 == pytest.approx(model.get_scale(fe, params.cov_re, params.vcomp),
                                       rel=1e-10)
        assert loglik == pytest.approx(model.loglike(packed), rel=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), coaches=st.integers(3, 9), predictors=st.integers(0, 3),
       ratios=st.tuples(st.floats(1e-3, 5.0), st.floats(1e-3, 5.0)), reml=st.booleans())
def test_the_likelihood_and_its_gradient_hold_on_any_nested_data(seed, coaches, predictors,
                                                                  ratios, reml):
    y, X, coach, client = _data(seed, coaches, predictors=predictors)
    sums = NestedSums.from_arrays(X, y, coach, client)
    model = _statsmodels(y, X, coach, client, reml)
    value = profiled_loglik(sums, *ratios, reml=reml)
    assert value == pytest.approx(model.loglike(_packed(*ratios, True)), rel=1e-9)
    step = 1e-6
    numeric = [(profiled_loglik(sums, *(r + step * (i == j) for j, r in enumerate(ratios)),
                                reml=reml)
                - profiled_loglik(sums, *(r - step * (i == j) for j, r in enumerate(ratios)),
                                  reml=reml)) / (2 * step) for i in range(2)]
    np.testing.assert_allclose(profiled_gradient(sums, *ratios, reml=reml), numeric,
                               rtol=1e-4, atol=1e-4)


def test_centring_leaves_the_fixed_effects_on_the_original_scale():
    y, X, coach, client = _data(2)
    X[:, 1] += 1_000.0  # far from zero: the sums are centred, the estimates are not
    sums = NestedSums.from_arrays(X, y, coach, client)
    model = _statsmodels(y, X, coach, client, True)
    params = MixedLMParams.from_packed(_packed(0.4, 0.3, True), model.k_fe, model.k_re, True,
                                       has_fe=False)
    fe, _ = model.get_fe_params(params.cov_re, params.vcomp)
    np.testing.assert_allclose(profiled_estimates(sums, 0.4, 0.3, reml=True)[0], fe,
                               rtol=1e-9)


@pytest.mark.parametrize("reml", [True, False])
def test_polish_ends_at_the_maximum(reml):
    y, X, coach, client = _data(3, n_coaches=20)
    sums = NestedSums.from_arrays(X, y, coach, client)
    coach_ratio, client_ratio = polish(sums, 2.0, 0.05, reml=reml)
    gradient = profiled_gradient(sums, coach_ratio, client_ratio, reml=reml)
    for ratio, slope in zip((coach_ratio, client_ratio), gradient, strict=True):
        assert abs(slope) < 1e-4 or (ratio == 0.0 and slope < 0)  # flat, or held at zero
    start = profiled_loglik(sums, 2.0, 0.05, reml=reml)
    assert profiled_loglik(sums, coach_ratio, client_ratio, reml=reml) > start


def test_a_client_variance_at_zero_is_fitted_where_statsmodels_arithmetic_fails():
    """No client level in the data: the client variance belongs at zero. The search on the
    exact likelihood takes its ratio towards 1e-17, where statsmodels' own arithmetic (a
    solve with the inverse variance) no longer holds; the fit reads its estimate and its
    likelihood from the sums, so it equals the fit with coaches alone."""
    y, X, coach, client = _data(4, n_coaches=30, client_sd=0.0)
    fit = fit_mixedlm(y, X, coach, vc=client)
    plain = fit_mixedlm(y, X, coach)  # coaches only: the same model at client variance 0
    assert fit.converged and fit.vcomp[0] < 1e-6 * fit.sigma2
    np.testing.assert_allclose(fit.coef, plain.coef, rtol=1e-5, atol=1e-6)
    assert fit.loglik >= plain.loglik - 1e-6
    sums = NestedSums.from_arrays(X, y, coach, client)
    ratios = (fit.random_cov[0, 0] / fit.sigma2, fit.vcomp[0] / fit.sigma2)
    assert fit.loglik == pytest.approx(profiled_loglik(sums, *ratios, reml=True), abs=1e-9)


@pytest.mark.parametrize("reml", [True, False])
def test_client_codes_that_restart_under_each_coach_are_different_clients(reml):
    y, X, coach, client = _data(5)
    restarted = client - np.array([client[coach == c].min() for c in coach])  # 0, 1, ... again
    assert len(set(zip(coach, restarted, strict=True))) == client.max() + 1
    model = _statsmodels(y, X, coach, restarted, reml)  # statsmodels nests within coaches
    sums = NestedSums.from_arrays(X, y, coach, restarted)
    assert profiled_loglik(sums, 0.4, 0.3, reml=reml) == pytest.approx(
        model.loglike(_packed(0.4, 0.3, True)), rel=1e-12)
    by_code, unique = fit_mixedlm(y, X, coach, vc=restarted), fit_mixedlm(y, X, coach, vc=client)
    assert by_code.loglik == pytest.approx(unique.loglik, abs=1e-8)
    np.testing.assert_allclose(by_code.coef, unique.coef, rtol=1e-7)


@pytest.mark.parametrize("reml", [True, False])
def test_variances_at_zero_are_a_converged_fit_without_false_alarms(reml):
    """Neither coaches nor clients differ: a derivative-free optimiser reaches ratios of
    exactly zero, where statsmodels' own GLS solve is singular; the fit still converges."""
    y, X, coach, client = _data(3, n_coaches=15, coach_sd=0.0, client_sd=0.0)
    fit = fit_mixedlm(y, X, coach, vc=client, reml=reml)
    assert fit.converged
    assert not [m for m in fit.messages if "Singular" in m or "maximum lies" in m]
    ols = np.linalg.lstsq(X, y, rcond=None)[0]  # variances at zero: the fit is least squares
    np.testing.assert_allclose(fit.coef, ols, rtol=1e-5, atol=1e-6)
