# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # What drives outcome? Decomposition methods, dominance and their uncertainty
#
# "The relationship accounts for 30 % of outcome" can mean several things. This notebook
# runs every decomposition method in `outcomes` on the sample study, shows where they agree
# and where they part, asks the ordinal question of dominance analysis, and puts honest
# intervals around the answer. Each number is a statement about *variance between clients*
# in a linear model: how much of why some clients end higher than others goes with each
# group of measures.

# %%
import warnings

import pandas as pd

import outcomes as oc
from outcomes.shares.metrics import METHODS

warnings.simplefilter("ignore", oc.DataWarning)  # completers only: 842 of 1,140 clients
table = oc.load_sample().analysis_table()
model = dict(outcome="end_score", factors=oc.FACTORS, covariates=["baseline"])

# %% [markdown]
# ## 1. Eight ways to split R²
#
# All methods take the intake score's R² first and split what remains among the four groups.
# The table gives each method's shares in R² units (columns `share`) and rescaled to sum to
# one (`relative`).

# %%
rows = []
for method in METHODS:
    d = oc.decompose(table, model["outcome"], model["factors"], covariates=model["covariates"],
                     method=method)
    rows.append(pd.DataFrame({"method": method, "factor": d.shares.index,
                              "share": d.shares.to_numpy(), "relative": d.relative.to_numpy(),
                              "adds_up": d.additive}))
methods = pd.concat(rows, ignore_index=True)
methods.pivot(index="method", columns="factor", values="relative")[list(oc.FACTORS)].round(3)

# %% [markdown]
# What each one estimates:
#
# - **`lmg`** — the Shapley value: a group's gain in R² averaged over every order in which
#   the groups can enter the model. Variance the groups explain together (they correlate) is
#   shared out equally among orders. It adds up to R², is never negative, and is the default.
# - **`dominance`** — general dominance weights: the mean gain over subsets of each size,
#   averaged over sizes. The same numbers as LMG, reached from the other side.
# - **`relative_weights`** — Johnson's method: orthogonalise the predictors, share R² among
#   the orthogonal parts, carry it back. A fast approximation to LMG; close here.
# - **`car`** — squared CAR scores, the correlations of the outcome with the decorrelated
#   predictors; also adds up to R².
# - **`pratt`** — standardised coefficient × correlation; adds up to R², but can be negative
#   when a predictor acts as a suppressor.
# - **`first`**, **`last`**, **`betasq`** — a group alone, a group last, and the variance of
#   its part of the prediction. They do not add up: correlated groups are counted twice by
#   `first` and not at all (their common part) by `last`. Rescaled, they bracket the others.

# %%
wide = methods.pivot(index="method", columns="factor", values="share")[list(oc.FACTORS)]
wide.assign(total=wide.sum(axis=1)).round(4)

# %% [markdown]
# ## 2. Dominance: an ordinal answer
#
# Dominance analysis asks whether one group beats another in *every* model (complete
# dominance), in the average model of every size (conditional), or on average (general).
# With a bootstrap, each verdict comes with the share of replicates that reproduce it.

# %%
dom = oc.dominance(table, model["outcome"], model["factors"], covariates=model["covariates"],
                   n_boot=200, cluster="coach_id", seed=1)
dom.summary()

# %%
complete = dom.designations().query("kind == 'complete'")
complete[["factor", "other", "p_factor", "p_other", "p_neither", "reproducibility"]].rename(
    columns={"factor": "Factor", "other": "Other", "p_factor": "Factor dominates",
             "p_other": "Other dominates", "p_neither": "Neither",
             "reproducibility": "Reproducibility"}).round(2)

# %% [markdown]
# Client factors completely dominate everything else here, in most replicates. Whether
# technique dominates expectancy is much less certain: a third of the replicates disagree.

# %%
ax = dom.plot()

# %% [markdown]
# ## 3. What a covariate changes
#
# Without the intake score, the factors also get credit for predicting where clients
# started. With it, they share only what intake leaves. Analysing change (end minus intake)
# with intake as a covariate gives the same *relative* shares as the end score with intake
# as a covariate — both look at the end score's residual after intake — but different
# absolute shares, because the two outcomes have different total variances.

# %%
variants = {
    "end score, no covariate": ("end_score", []),
    "end score | baseline": ("end_score", ["baseline"]),
    "change | baseline": ("change", ["baseline"]),
    "change, no covariate": ("change", []),
}
compare = {}
for label, (outcome, covariates) in variants.items():
    d = oc.decompose(table, outcome, oc.FACTORS, covariates=covariates)
    compare[label] = pd.concat([d.relative, pd.Series({"R² split": d.r2 - d.r2_covariates})])
pd.DataFrame(compare).round(3)

# %% [markdown]
# ## 4. How sure can we be?
#
# Clients of one coach share the coach, so the bootstrap resamples coaches whole. Resampling
# clients instead treats the 842 clients as independent; when both the outcome and the
# measures cluster by coach (a coach's clients rate the alliance alike and do alike), that
# understates the uncertainty. In this simulated sample the measures do not cluster by coach,
# so the two agree; resampling coaches is the safe choice. BCa intervals correct the
# percentile interval for bias and skew; the difference is small here.

# %%
widths = {}
for label, options in {"coaches, BCa": dict(cluster="coach_id", ci_method="bca"),
                       "coaches, percentile": dict(cluster="coach_id", ci_method="percentile"),
                       "clients, BCa": dict(ci_method="bca")}.items():
    d = oc.decompose(table, model["outcome"], model["factors"], covariates=model["covariates"],
                     n_boot=200, seed=1, **options)
    rel = d.ci[d.ci.quantity == "relative"].set_index("factor")
    widths[label] = rel.ci_high - rel.ci_low
pd.DataFrame(widths).round(3)

# %% [markdown]
# Two more questions the bootstrap answers: is one share larger than another (the interval
# of the difference), and how often does each group take each rank?

# %%
shares = oc.decompose(table, model["outcome"], model["factors"], covariates=model["covariates"],
                      n_boot=200, cluster="coach_id", seed=1)
shares.differences.rename(columns={
    "factor": "Factor", "other": "Minus", "estimate": "Difference", "std_error": "Std. error",
    "ci_low": "95 % interval from", "ci_high": "to"}).round(3)

# %%
shares.rank_probabilities.round(2)

# %% [markdown]
# ## 5. Against the truth
#
# The sample was simulated with 40/30/15/15 of the *latent* explained variance. The
# observed shares are pulled towards each other: each group is measured with error (the
# technique group through adherence ratings and session counts, which the simulation ties
# closely to its factor, so it gains), and only completers have an end score. The recovery
# study (`docs/recovery.md`) shows that LMG finds the truth on the latent scores and how far
# measurement moves it on observed ones.

# %%
truth = pd.Series(oc.sample_truth()["shares"], name="truth")
pd.concat([truth, shares.relative], axis=1).round(3)
