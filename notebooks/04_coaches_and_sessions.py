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
# # Coaches and sessions: multilevel shares, the coach effect, alliance within and between
#
# Clients are nested in coaches, and sessions in clients. Two questions follow. How much of
# the outcome lies with the coach, beside the four factor groups? And when a client rates
# the alliance higher than usual in one session, do they do better by the next — or is it
# only that clients who rate the alliance highly do better overall?

# %%
import warnings

import pandas as pd

import outcomes as oc

warnings.simplefilter("ignore", oc.DataWarning)  # completers only in the end-score models
study = oc.load_sample()
table = study.analysis_table()

# %% [markdown]
# ## 1. How much lies between coaches?
#
# The intra-class correlation of a random-intercept model with no predictors is the share
# of the outcome's variance that lies between coaches. Therapist effects in psychotherapy
# are about 5 % (Wampold & Brown 2005). The sample was simulated with a coach ICC of 5 % in
# true change. The end score hides most of it behind where clients started (intake varies
# far more than coaches do); change shows it.

# %%
rows = {}
for outcome in ("end_score", "change"):
    null = oc.multilevel(table, outcome, [])
    low, high = null.icc_interval
    rows[outcome.replace("_", " ")] = {"ICC": null.icc, "95 % interval from": low, "to": high}
pd.DataFrame(rows).T.round(3)

# %% [markdown]
# ## 2. The full model
#
# With the four factor groups and the intake score, each predictor split into its coach
# mean (between coaches) and the client's deviation from it (within coach), the model says
# how the outcome's variance divides (Rights & Sterba 2019): fixed effects within and
# between coaches, coach intercepts, and the residual.

# %%
fit = oc.multilevel(table, "end_score", oc.FACTORS, covariates=["baseline"])
fit.to_apa(number=1)

# %%
fit.to_apa(number=2, part="variance")

# %%
{"R² marginal": round(fit.r2_marginal, 3), "R² conditional": round(fit.r2_conditional, 3)}

# %%
ax = fit.plot()

# %% [markdown]
# ## 3. Factor shares with the coach beside them
#
# `multilevel_shares` gives each factor group its Shapley share of the marginal R² (16
# random-intercept models, intake always in) and sets the coach's share and the unexplained
# rest beside them, so the parts add up to one. Add `n_boot=500` for cluster-bootstrap
# intervals (a few seconds per hundred replicates).

# %%
shares = oc.multilevel_shares(table, "end_score", oc.FACTORS, covariates=["baseline"])
shares.summary()

# %% [markdown]
# Norcross & Lambert (2011) split the *total* variance of outcome and give therapists 7 %.
# The comparison matches our coach line to their therapist part and our unexplained part to
# theirs (they have no expectancy part, so it is left out of the match):

# %%
shares.compare("norcross-lambert-2011").summary()

# %% [markdown]
# The sample's coaches differ little. In a practice where coaches matter more (an ICC of
# 0.15 in true change, in a simulated study of 30 coaches), the coach's line more than
# doubles; the factor groups still share the marginal R² among themselves, with the
# sampling noise of a study half the size:

# %%
strong = oc.simulate_study(n_coaches=30, clients_per_coach=20, icc=0.15, seed=7)
strong_table = oc.Study(strong.tables).analysis_table()
oc.multilevel_shares(strong_table, "end_score", oc.FACTORS, covariates=["baseline"]).shares.round(3)

# %% [markdown]
# ## 4. Session by session: the alliance within and between clients
#
# `session_table` lays out, per engagement and session, the outcome rated at the start of
# the session (ORS) and the alliance rated at its end (SRS). The model of Falkenström et al.
# (2017) predicts the next session's outcome from this session's outcome, the session
# number, the client's *mean* alliance (between clients: do clients with better alliances do
# better?) and the session's *deviation* from that mean (within client: does a better session
# than usual help?). To keep the notebook quick we fit it on the clients of the first 30
# coaches; `outcomes alliance data/sample` fits all of them.

# %%
sessions = oc.session_table(study.scores(), study.valid("engagements"))
coaches = sorted(sessions.coach_id.unique())[:30]
sessions = sessions[sessions.coach_id.isin(coaches)]
allied = oc.alliance_outcome(sessions, alliance="alliance", outcome="outcome")
allied.summary()

# %% [markdown]
# Clients with better alliances improve more from one session to the next (the between
# effect), but a session whose alliance is better than the client's usual predicts nothing
# extra. That is the truth of the simulation behind the sample: a session's deviation in
# session rating is pure noise, while the client's level tracks the relationship factor that
# drives change. In real data a within-client effect is the one a coach can act on, and it is
# the one that observational designs find hardest to estimate.

# %%
ax = allied.plot()
