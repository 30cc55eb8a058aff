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
# # Benchmarking a practice: change, monitoring, norms and one coach's standing
#
# A coaching body wants to know how its clients change, which engagements need attention
# while they are running, and how one coach's practice compares with the body's — without
# the coach seeing anyone else's data. This notebook goes through those steps on the sample
# study, and uses two real data sets where simulated data cannot show what matters.

# %%
import warnings
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

import outcomes as oc
from outcomes.benchmarking import benchmark, practice_from_study
from outcomes.norms import build_norms

warnings.simplefilter("ignore", oc.DataWarning)
study = oc.load_sample()
table = study.analysis_table()
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "data" / "sample").is_dir())
REAL = ROOT / "tests" / "data" / "real"

# %% [markdown]
# ## 1. Did clients change, reliably?
#
# The reliable change index asks whether a client's change is larger than the measure's
# ordinary ups and downs; on the Outcome Rating Scale that is more than 5 points. A client
# has *recovered* when the change is reliable and the score crossed the clinical cutoff of 25.

# %%
change = oc.change(table, pre="baseline", post="end_score", instrument="ors")
change.to_apa()

# %%
ax = change.plot()

# %% [markdown]
# ### On real data: which index you use matters
#
# Jacobson et al.'s (1989) marital-therapy trial (30 couples; Global Distress Scale, lower is
# better, reliability .80), as the R package clinicalsignificance ships it beside Jacobson &
# Truax (1991). The four indices in use differ in how they allow for regression to the
# mean, and they classify the same couples differently — a choice to report, not to hide.
# (The counts equal those clinicalsignificance prints for these data.)

# %%
marital = pd.read_csv(REAL / "jacobson1989_marital_therapy.csv")
wide = marital.pivot(index="subject", columns="time", values="gds")
counts = {
    method: oc.change(wide, pre="pre", post="post", reliability=0.8, higher_is_better=False,
                      cutoff="a", method=method).counts
    for method in ("jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally",
                   "hsu-linn-lord")
}
pd.DataFrame(counts).T

# %% [markdown]
# ### On real data: splitting a trial's improvement
#
# Asay & Lambert's 40/30/15/15 divides *average improvement* along a ladder of comparisons:
# what clients gain untreated, what a placebo adds, what a relationship adds, what technique
# adds. A trial with arms on those rungs lets us do the arithmetic. Woodworth et al.'s (2017)
# web-based positive-psychology trial has two: a placebo exercise (recording early memories)
# and three active exercises. With no untreated arm, the client and expectancy rungs cannot
# be told apart, and the relationship and technique rungs are merged too (the trial has no
# coach: the second part is what the exercises add beyond an equally credible placebo).
# Every arm improved, and the exercises added little to what the placebo gave, so most of
# the improvement falls on "client + expectancy" — with intervals wide enough to be humble.

# %%
trial = pd.read_csv(REAL / "woodworth2018_positive_psychology.csv")
arms = trial[trial.occasion.isin([0, 1])].pivot_table(
    index=["id", "intervention"], columns="occasion", values="ahiTotal").reset_index()
arms.columns = ["id", "intervention", "pre", "post"]
split = oc.improvement_split(arms, arm="intervention", pre="pre", post="post",
                             arms={"placebo": 4, "full": [1, 2, 3]}, n_boot=500, seed=5)
split.summary()

# %% [markdown]
# ## 2. Session by session: the expected course and flags
#
# From the body's own engagements we fit the usual course of the ORS given where a client
# started (median and a band holding 90 % of clients), then read every session against it.
# The flags prompt a conversation with the client; they never judge the client's health.

# %%
sessions = oc.session_scores(study.scores())
course = oc.expected_trajectories(sessions, outcome="ors", intake="intake")
course.expected(intake=[10, 15, 20, 25], session=5).round(1)

# %%
flags = oc.monitor(sessions, course, outcome="ors", alliance="srs")
flags.summary()

# %%
flagged = flags.table().query("flag != 'on track' and flag != 'not assessed'")
Markdown("\n".join(f"- {reason}" for reason in flagged.reason.head(3)))

# %% [markdown]
# ## 3. The body's norms
#
# Norms hold aggregates only — distributions by intake band, the case-mix model of expected
# change, the spread of coach effects, the expected course — each with the number of clients
# behind it and small cells suppressed. A coach can be benchmarked against them without
# seeing any other coach's data.

# %%
norms = build_norms(study, n_boot=0, seed=1)
norms.summary()

# %% [markdown]
# ## 4. One coach's practice
#
# A coach fills in the workbook from `outcomes.benchmarking.write_template` (or the body
# extracts the coach's engagements, as here for coach C007). The benchmark sets each
# client's change against the change expected for clients who started alike, places the
# coach among the body's coaches with an interval that says how little twenty clients can
# tell, and lists the clients to talk to.

# %%
practice = practice_from_study(study, "C007")
result = benchmark(practice, norms)
result.summary()

# %%
ax = result.plot()
