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
# and where they part, asks the ordinal question of dominance analysis, puts honest
# intervals around the answer, and asks what changes when the clients who did not finish
# are kept in (intention to treat). Each number is a statement about *variance between
# clients* in a linear model: how much of why some clients end higher than others goes with
# each group of measures.
#
# The notebook runs in well under a minute: bootstraps draw 200 replicates and the dropout
# sensitivity analysis uses 10 imputations, each with a fixed seed, so every run shows the
# same numbers. For a paper, use `n_boot=1000` and the default number of imputations.

# %%
import warnings

import pandas as pd
from IPython.display import Markdown

import outcomes as oc
from outcomes.shares.metrics import METHODS

warnings.simplefilter("ignore", oc.DataWarning)  # complete cases: 842 of 1,140 clients
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
# ## 5. Clients who did not finish: intention to treat
#
# Everything above rests on the 842 clients with every value. Of the 1,140 engagements, 298
# miss a value, 259 of them the end score: clients who dropped out, were referred on or are
# still in coaching. They are not a random quarter. When dropout follows what was observed,
# a low intake score or a weak early alliance, the complete cases describe the clients who
# finished, not the clients who started, and their shares are biased.
#
# Intention-to-treat shares keep every client with any value. `missing="mi"` fills the
# missing values by chained equations many times over (27 imputations here, 100 times the
# fraction of incomplete clients), computes the shares in each completed copy and averages
# them; the bootstrap resamples coaches whole and imputes each replicate anew. First, what
# is missing, per column and in which combinations:

# %%
itt = oc.decompose(table, model["outcome"], model["factors"], covariates=model["covariates"],
                   missing="mi", n_boot=200, cluster="coach_id", seed=1)
itt.missingness

# %%
itt.missingness.patterns.head(6).replace({"missing": {"": "none (complete)"}}).rename(
    columns={"missing": "Missing values", "n": "Clients", "percent": "Percent"}).round(
    1).set_index("Missing values")

# %% [markdown]
# The intention-to-treat shares, with their intervals, beside the complete-case shares of
# the same model:

# %%
itt

# %% [markdown]
# ### How far does this rest on "missing at random"?
#
# Multiple imputation assumes that a client without an end score would have scored what
# their observed values (intake score, alliance, hope, ...) predict. If those who left did
# worse than that, the imputed end scores are too high. The sensitivity analysis lowers
# every imputed end score by δ points, recomputes the shares at each δ, and finds the δ at
# which a conclusion stops holding; here the conclusion that the relationship's share
# exceeds the technique's.

# %%
dropout = oc.sensitivity(table, model["outcome"], model["factors"],
                         covariates=model["covariates"], conclusion=("relationship", "technique"),
                         n_imputations=10, seed=1)
curve = dropout.table()
groups = curve[list(oc.FACTORS)]
shown = (100 * groups.div(groups.sum(axis=1), axis=0)).round(1)  # percent of explained
shown.columns = [f"{name.capitalize()} (%)" for name in shown.columns]
shown.insert(0, "δ (points)", curve.delta.round(2))
shown.insert(1, "δ (SD of end score)", curve.delta_sd.round(1))
shown["Relationship ahead"] = curve.holds.map({True: "yes", False: "no"})
shown.set_index("δ (points)")

# %%
in_sd = dropout.tipping_point * curve.delta_sd.iloc[-1] / curve.delta.iloc[-1]
Markdown(f"**Tipping point:** the relationship's share stays above the technique's until "
         f"dropouts' end scores are {dropout.tipping_point:.1f} points ({in_sd:.2f} standard "
         f"deviations of the end score) lower than missing at random predicts, for the "
         f"{dropout.n_dropouts} clients without one.")

# %%
ax = dropout.plot()

# %% [markdown]
# **Which shares the conclusions rest on, and why.** The conclusions of this study rest on
# the intention-to-treat shares. A quarter of the clients miss a value, most of them the end
# score, and whether a client finishes goes with how the engagement went (those without an
# end score attended far fewer sessions and rated the alliance lower); the complete cases
# answer a narrower question (what drives outcome among those who finished) and are biased
# for the one asked (what drives outcome among the clients who started). The complete-case
# shares stand beside them as a check: here the two rank the four groups in the same order
# and differ little (the sentence under the table gives the largest gap), so no conclusion
# turns on the choice. Imputation still assumes that dropout is *at random given what was
# observed*. The sensitivity analysis shows that the relationship stays ahead of technique
# unless dropouts ended, on average, more than half a standard deviation of the end score
# lower than their observed values predict; beyond that, technique overtakes it, because
# the clients without an end score are the ones who attended few sessions, and lowering
# their end scores ties outcome more closely to the number of sessions. Report the tipping
# point with the shares: it is a number a reader can judge.

# %% [markdown]
# ## 6. Against the truth
#
# The sample was simulated with 40/30/15/15 of the *latent* explained variance. The
# observed shares are pulled towards each other: each group is measured with error (the
# technique group through adherence ratings and session counts, which the simulation ties
# closely to its factor, so it gains), and part of the clients have no end score. The
# recovery study (`docs/recovery.md`) shows that LMG finds the truth on the latent scores
# and how far measurement and dropout move it on observed ones.

# %%
truth = pd.Series(oc.sample_truth()["shares"], name="Truth (latent)")
pd.concat([truth, shares.relative.rename("Complete cases"),
           itt.relative.rename("Intention to treat")], axis=1).round(3)
