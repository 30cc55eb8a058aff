"""Draw the two small datasets that lme4_reference.R fits (run once; the CSVs are committed).

clients.csv: one row per client, clients nested in 30 coaches of unequal size (4-24 clients),
with an intake score, a working-alliance score and a hope score that vary within and between
coaches, and an end score with a coach random intercept and a coach random slope on alliance.

sessions.csv: one row per client and session (12 coaches, 5-9 clients each, 4-10 sessions),
with a session alliance rating and the outcome at the start of the session; the outcome at
the next session depends on the client's mean alliance (between) and on the session's
deviation from it (within), on a client's own rate of growth (a client random intercept)
and on the coach (a coach random intercept).

Run from the repository root:  python tests/reference/multilevel/make_data.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def clients(rng: np.random.Generator) -> pd.DataFrame:
    n_coaches = 30
    sizes = rng.integers(4, 25, size=n_coaches)
    coach = np.repeat(np.arange(n_coaches), sizes)
    n = coach.size
    coach_alliance = 0.3 * rng.normal(size=n_coaches)
    coach_level = 2.0 * rng.normal(size=n_coaches)
    coach_slope = 1.0 * rng.normal(size=n_coaches)
    baseline = np.round(19 + 6.5 * rng.normal(size=n), 1)
    alliance = np.clip(np.round(3.9 + coach_alliance[coach] + 0.5 * rng.normal(size=n), 2), 1, 5)
    hope = np.round(45 + 6 * rng.normal(size=n) + 4 * (alliance - 3.9), 0)
    mean_alliance = np.bincount(coach, alliance) / sizes
    end = (
        8
        + 0.55 * baseline
        + (2.5 + coach_slope[coach]) * (alliance - mean_alliance[coach])
        + 3.0 * mean_alliance[coach]
        + 0.08 * hope
        + coach_level[coach]
        + 4.0 * rng.normal(size=n)
    )
    return pd.DataFrame({
        "coach_id": [f"K{c + 1:02d}" for c in coach],
        "baseline": baseline,
        "alliance": alliance,
        "hope": hope,
        "end_score": np.round(end, 2),
    })


def sessions(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    client_no = 0
    for c in range(12):
        coach_effect = 1.2 * rng.normal()
        for _ in range(rng.integers(5, 10)):
            client_no += 1
            trait = rng.normal()
            growth = 1.0 + 1.2 * rng.normal()
            outcome = 18 + 5 * rng.normal()
            for s in range(1, rng.integers(4, 11) + 1):
                alliance = 34 + 2.5 * trait + 2.0 * rng.normal()
                rows.append((f"K{c + 1:02d}", f"E{client_no:03d}", s, round(alliance, 1),
                             round(outcome, 1)))
                outcome = (
                    0.9 * outcome + 1.8 + growth
                    + 0.35 * (alliance - 34 - 2.5 * trait) + 0.8 * trait
                    + coach_effect + 2.0 * rng.normal()
                )
    return pd.DataFrame(rows, columns=["coach_id", "engagement_id", "session", "alliance",
                                       "outcome"])


def main() -> None:
    rng = np.random.default_rng(20240611)
    clients(rng).to_csv(HERE / "clients.csv", index=False)
    sessions(rng).to_csv(HERE / "sessions.csv", index=False)


if __name__ == "__main__":
    main()
