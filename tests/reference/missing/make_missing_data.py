"""Write the incomplete data set that mice_regression.R imputes (run once; kept for provenance).

Run from the repository root: .venv/bin/python tests/reference/missing/make_missing_data.py
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261206)
n = 300
x1 = rng.normal(size=n)
x2 = 0.5 * x1 + rng.normal(size=n)
y = 1.0 + 0.8 * x1 + 0.4 * x2 + rng.normal(size=n)
# missing at random: y and x2 more often missing when x1 is low
y[rng.random(n) < 1 / (1 + np.exp(1.0 + 1.5 * x1))] = np.nan
x2[rng.random(n) < 0.15] = np.nan
pd.DataFrame({"x1": x1, "x2": x2, "y": y}).round(6).to_csv(
    "tests/reference/missing/mar_data.csv", index=False)
