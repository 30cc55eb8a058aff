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
# # Planning a study: how many coaches and clients?
#
# Before recruiting, a researcher needs to know how precisely a study of a given size will
# pin down each factor's share, and whether it could tell the data apart from Asay &
# Lambert's 40/30/15/15 if the truth were different. `oc.power` answers by simulation: it
# draws many studies of each size from the generative model behind the sample study,
# measures each factor with the error typical of its questionnaires, estimates the shares
# with cluster-bootstrap intervals, and summarises what happened.

# %%
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from outcomes.shares.power import power

SPLIT = {"client": 0.40, "relationship": 0.30, "expectancy": 0.15, "technique": 0.15}

# %% [markdown]
# ## 1. Precision: the width of each share's interval
#
# Suppose the truth is 40/30/15/15 of an explained variance of 35 %, with a coach ICC of
# 5 %, and every coach contributes 15 clients with an end score. (The small numbers of
# simulated studies and bootstrap replicates keep this notebook quick; use the defaults,
# 200 and 200, for a real plan.)

# %%
plan = power(shares=SPLIT, r2=0.35, icc=0.05, n_coaches=[15, 30, 60, 120],
                clients_per_coach=15, n_sim=100, n_boot=100, seed=1, n_jobs=1)
plan.grid("width").rename_axis(["coaches", "clients per coach"]).round(3)

# %%
ax = plan.plot()

# %% [markdown]
# Interval widths shrink with the square root of the number of clients: halving the width
# takes four times the clients. With 450 clients the interval of the client share still
# spans about a quarter of the scale; 1,800 clients bring every interval under about 0.15.
# The summary adds bias, RMSE and the coverage of the true share:

# %%
plan.summary()

# %% [markdown]
# ## 2. Power: could the study tell a different truth from 40/30/15/15?
#
# Suppose instead that client factors carry most of what is explained and technique almost
# none (70/20/8/2, a split closer to Wampold's reading of the evidence). How often would the
# interval of each share exclude the Asay & Lambert value?

# %%
other = {"client": 0.70, "relationship": 0.20, "expectancy": 0.08, "technique": 0.02}
against = power(shares=other, r2=0.35, icc=0.05, n_coaches=[10, 20, 40], clients_per_coach=15,
                   factor_correlation=0.15, n_sim=100, n_boot=100, seed=2, n_jobs=1)
against.grid("power").rename_axis(["coaches", "clients per coach"]).round(2)

# %%
ax = against.plot(quantity="power")

# %% [markdown]
# The client and technique shares, far from 40 % and 15 %, are told apart with a few hundred
# clients; the relationship and expectancy shares (20 % against 30 %, 8 % against 15 %) need
# many more. When the truth *is* 40/30/15/15, the same "power" is the rate of false alarms,
# one minus the coverage. In section 1 it runs at about 6–13 %, a little above the nominal
# 5 % because bootstrap intervals from a few hundred clients are slightly too narrow, and it
# grows with the sample for technique, whose measured share is pulled above the truth: a
# large study measured like the sample would wrongly reject 15 % for technique one time in
# four.

# %% [markdown]
# ## 3. Measurement decides what the shares mean
#
# The measured score of a factor correlates imperfectly with the factor, and unequally
# across factors. `population_share` is what the estimator tends to with unlimited clients
# measured this way; no sample size removes its distance from the truth. With perfect
# measurement it *is* the truth:

# %%
measured = {}
for label, reliability in {"as the sample's instruments": "simulated",
                           "perfectly": "perfect",
                           "technique poorly (0.5)": {"technique": 0.5}}.items():
    result = power(shares=SPLIT, r2=0.35, n_coaches=60, clients_per_coach=15,
                      reliability=reliability, n_sim=50, n_boot=100, seed=3, n_jobs=1)
    measured[label] = result.grid("population_share").iloc[0]
pd.DataFrame(measured).round(3)

# %% [markdown]
# ## 4. Many coaches or many clients per coach?
#
# With the same 600 clients spread over more or fewer coaches, and a strong coach effect
# (ICC 0.15): because the coach effect here is unrelated to the factors, it adds noise to
# the outcome but does not make the factor measures cluster, and the arrangement hardly
# matters for the shares. It matters for the coach's own share and wherever coaches differ
# in the factors themselves.

# %%
arrangement = power(shares=SPLIT, r2=0.35, icc=0.15, n_coaches=[15, 30, 60],
                       clients_per_coach=[40, 20, 10], n_sim=60, n_boot=100, seed=4, n_jobs=1)
widths = arrangement.grid("width").rename_axis(["coaches", "clients per coach"])
widths[[c * k == 600 for c, k in widths.index]].round(3)

# %% [markdown]
# ## 5. Do the estimators find the truth? The recovery study
#
# `benchmarks/recovery_study.py` simulates full studies — item responses, scoring, dropout —
# in three worlds and scores every estimator against the truth, on the latent scores and on
# the observed ones. Its tables are in `docs/recovery.md` (run
# `python benchmarks/recovery_study.py` to rebuild them, about ten minutes on two cores).
# The default world:

# %%
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "docs").is_dir())
text = (ROOT / "docs" / "recovery.md").read_text(encoding="utf-8")
default_world = text.split("### World `default`")[1].split("### World")[0]
Markdown("#### World `default`" + default_world)

# %% [markdown]
# On latent scores LMG and its relatives are unbiased and their intervals cover the truth
# at close to the nominal rate. On observed scores the shares follow the measures: the
# technique group, measured closely by adherence ratings averaged over sessions, gains a few
# points, and its coverage falls. Plan the measures as carefully as the sample size.
