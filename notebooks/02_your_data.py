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
# # Your own data: reading, validating, fixing, scoring
#
# Coaching data arrive in whatever the practice uses: an Excel sheet of engagements, an SPSS
# file from a research assistant, CSV exports from a survey tool. `outcomes` reads a *study
# folder* with one file per table — `coaches`, `engagements`, `sessions`, `responses` — in
# any of those formats, checks every row, and scores the questionnaires.
#
# To have files to read, we write a small practice (the first five coaches of the sample
# study) into a temporary folder in three formats.

# %%
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pyreadstat

import outcomes as oc

sample = oc.load_sample()
coaches = sample.tables["coaches"].head(5)
engagements = sample.tables["engagements"].query("coach_id in @coaches.coach_id")
kept = set(engagements.engagement_id)
sessions = sample.tables["sessions"].query("engagement_id in @kept")
responses = sample.tables["responses"].query("engagement_id in @kept")

folder = Path(tempfile.mkdtemp()) / "practice"
folder.mkdir()
pyreadstat.write_sav(coaches, str(folder / "coaches.sav"))                 # SPSS
engagements.to_excel(folder / "engagements.xlsx", index=False)             # Excel
sessions.to_csv(folder / "sessions.csv", sep=";", decimal=",", index=False)  # European CSV
responses.to_csv(folder / "responses.csv", index=False)
sorted(p.name for p in folder.iterdir())

# %% [markdown]
# ## 1. Read and validate
#
# `read_study` finds each table by its file name, whatever the format. Validation checks
# types, ranges, vocabularies, the instruments' response options and the links between the
# tables, and never stops at the first problem.

# %%
practice = oc.read_study(folder)
report = practice.validate()
report.table()

# %% [markdown]
# ## 2. When rows are rejected
#
# The repository's `data/sample/messy` folder holds the engagements of three sample coaches
# with 32 planted faults, the kind real exports contain: a date that does not exist, a
# session recorded twice, an answer outside a scale's range, text in a number column.

# %%
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "data" / "sample").is_dir())
messy = oc.read_study(ROOT / "data" / "sample" / "messy")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    messy_report = messy.validate()
messy_report.table()

# %% [markdown]
# Every rejected row is listed with the file, its line in the file, the column, the value,
# the rule it broke and what to do about it:

# %%
problems = messy_report.problems[["file", "row", "column", "value", "rule", "fix"]]
problems.assign(file=problems.file.map(lambda f: Path(f).name)).head(12)

# %% [markdown]
# Because each table keeps the line number of every row as its index, fixes can be written
# against the same line numbers the report gives. Some faults have an obvious correction
# (an employer-paid engagement recorded as "employer"); others need someone to check the
# source (a date of 30 February). We correct what we can, drop the repeated rows, and leave
# the rest rejected: the report will say so.

# %%
tables = {name: frame.copy() for name, frame in messy.tables.items()}
corrections = [
    ("coaches", 3, "years_experience", "2"),          # a minus sign typed by mistake
    ("engagements", 5, "sponsor", "organisation"),
    ("engagements", 7, "status", "completed"),
    ("engagements", 15, "research_consent", "false"),  # consent not confirmed: keep it out
    ("sessions", 42, "adherence", "5"),
    ("sessions", 44, "techniques", "grow"),
    ("responses", 97, "value", None),                  # "n/a": an unanswered item
]
for table, row, column, value in corrections:
    tables[table].loc[row, column] = value
tables["coaches"] = tables["coaches"].drop(index=[5])      # the second copy of C003
# lines 470, 471 and 473 repeat session 1 of E0011 under another number: copies to remove
tables["sessions"] = tables["sessions"].drop(index=[470, 471, 473])
fixed = oc.Study(tables, source="messy, corrected")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fixed_report = fixed.validate()
fixed_report.table()

# %% [markdown]
# What is still rejected needs a person with the original records:

# %%
left = fixed_report.problems[["table", "row", "column", "value", "rule"]]
left

# %% [markdown]
# ## 3. Scores
#
# Scoring reverses reverse-keyed items, leaves out fillers, applies each instrument's
# missing-item rule and gives one row per administration and scale. Only valid rows are
# scored.

# %%
scores = practice.scores()
scores.groupby(["instrument", "scale"]).score.describe()[["count", "mean", "std", "min", "max"]]

# %% [markdown]
# ## 4. Are the scales reliable in these data?
#
# Before a scale's scores carry weight in an analysis, check its internal consistency in the
# study's own responses: Cronbach's alpha with its Feldt interval, and McDonald's omega from
# a one-factor model with a bootstrap interval. Here the working alliance, rated by clients
# across the whole sample:

# %%
alliance = oc.reliability(sample.valid("responses"), "wai-sr", n_boot=200, seed=1)
alliance.to_apa()

# %% [markdown]
# The same functions work on any item table. The Authentic Happiness Inventory at the
# pretest of Woodworth et al.'s (2017) web-based positive-psychology trial is real data
# (295 adults, 24 items; `tests/data/real/`, CC BY-SA 4.0):

# %%
trial = pd.read_csv(ROOT / "tests" / "data" / "real" / "woodworth2018_positive_psychology.csv")
items = trial.query("occasion == 0").filter(regex=r"^ahi\d+$")
{"alpha": round(oc.cronbach_alpha(items), 3), "omega": round(oc.omega_total(items), 3),
 "respondents": len(items)}

# %% [markdown]
# Next: `03_what_drives_outcome` decomposes the outcome of a validated study.
