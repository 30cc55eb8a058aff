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
# # Quickstart: from a coaching study to factor shares
#
# How much of the difference between clients' outcomes goes with the client, the working
# relationship, expectancy and hope, and the coach's model and techniques? This notebook
# answers that for the sample study that ships with `outcomes`: 60 coaches, 1,200
# engagements, session logs and item-level questionnaire answers. The sample is simulated,
# so we also know the answer it should give.

# %%
import outcomes as oc

study = oc.load_sample()  # the same files as data/sample/ in the repository
study.summary()

# %% [markdown]
# ## 1. Check the data
#
# Validation reads every table and the links between them, and never drops a row silently:
# every row is either valid or rejected with its reasons.

# %%
report = study.validate()
report.table()

# %% [markdown]
# ## 2. One row per engagement
#
# The analysis table scores every questionnaire and lays out, per engagement, the outcome
# (the Outcome Rating Scale at the end, `end_score`, and at intake, `baseline`) and the
# measures of each factor group. `oc.FACTORS` says which columns belong to which group.

# %%
table = study.analysis_table()
oc.FACTORS

# %%
table[["engagement_id", "coach_id", "baseline", "end_score", *oc.FACTORS["relationship"]]].head()

# %% [markdown]
# ## 3. Each factor's share of the outcome
#
# `decompose` splits the R² of the end score among the four groups by LMG (the Shapley
# value: each group's gain in R² averaged over every order of entry). The intake score is a
# covariate: its R² is taken first, so the factors share what intake does not already
# explain.
#
# Not every client finished: 259 of the 1,140 engagements have no end score (clients who
# dropped out, were referred on or are still in coaching) and a few more lack one
# questionnaire. `missing="mi"` keeps them all (intention to treat): it imputes the missing
# values many times over and averages the shares across the completed copies. Intervals
# come from a bootstrap that resamples coaches whole, because clients of the same coach are
# not independent; 200 replicates with a fixed seed keep this notebook quick (use 1,000 for
# a paper).

# %%
shares = oc.decompose(table, "end_score", oc.FACTORS, covariates=["baseline"],
                      missing="mi", n_boot=200, cluster="coach_id", seed=1)
shares

# %% [markdown]
# Each share is a percent of what the four groups explain together. Beside the
# intention-to-treat shares stand the complete-case shares: the same model on the 842
# clients with every value. The conclusions rest on the intention-to-treat shares, because
# the clients who did not finish are not a random quarter, and complete cases describe only
# those who did; the sentence under the table says how far the two differ. Notebook
# `03_what_drives_outcome` shows what is missing and how far the shares depend on dropouts
# being missing at random. `shares.summary()` gives the same in plain text.
#
# ## 4. Beside Asay & Lambert's 40/30/15/15
#
# Asay & Lambert's split is a judgement about average improvement, not a split of variance,
# so the comparison sets the *proportions* side by side: each group's share of what the four
# groups explain together.

# %%
comparison = shares.compare("asay-lambert-1999")
comparison

# %%
ax = shares.plot(reference="asay-lambert-1999")

# %% [markdown]
# ## 5. What the sample was built to show
#
# The sample was drawn with true shares of 40/30/15/15 of the explained variance of latent
# change. The estimates above come from questionnaires that measure each factor with error,
# so they are pulled towards each other; `docs/recovery.md` measures how much over many
# simulated studies, with and without dropout.

# %%
oc.sample_truth()["shares"]

# %% [markdown]
# ## 6. A table for the paper
#
# `to_apa()` lays any result out as an APA 7 table: a number, a title, two decimals, no
# leading zero for proportions, intervals in brackets, and a note that says what every
# number is. `table.to_docx("shares.docx")` writes it as a Word table and
# `table.to_latex("shares.tex")` as LaTeX; `outcomes decompose --docx F --latex F` does the
# same from the command line.

# %%
table = shares.to_apa(number=1, reference="asay-lambert-1999")
table

# %% [markdown]
# Next: `02_your_data` reads your own files, `03_what_drives_outcome` compares the
# decomposition methods, and `outcomes decompose data/sample --missing mi --n-boot 1000` does
# all of the above from the command line.
