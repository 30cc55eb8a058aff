"""Shared fixtures: a small valid study written by hand, as text cells like a CSV gives."""

from __future__ import annotations

import pandas as pd
import pytest


def small_study() -> dict[str, pd.DataFrame]:
    """Three coaches, six engagements, three sessions each, ORS and SRS items, all valid."""
    coaches = pd.DataFrame({"coach_id": ["C1", "C2", "C3"], "years_experience": ["3", "10", "0.5"]})
    eng = pd.DataFrame(
        {
            "engagement_id": [f"E{i}" for i in range(1, 7)],
            "client_id": [f"P{i}" for i in range(1, 7)],
            "coach_id": ["C1", "C1", "C2", "C2", "C3", "C3"],
            "start_date": ["2024-01-08"] * 6,
            "end_date": ["2024-03-01"] * 5 + [None],
            "sponsor": ["self", "organisation"] * 3,
            "status": ["completed"] * 5 + ["ongoing"],
        }
    )
    sessions = pd.DataFrame(
        [
            (f"E{e}", str(s), f"2024-01-{7 + 7 * s:02d}", "60", "grow;solution-focused", "4")
            for e in range(1, 7)
            for s in (1, 2, 3)
        ],
        columns=["engagement_id", "session", "date", "duration_min", "techniques", "adherence"],
    )
    rows = []
    for e in range(1, 7):
        for item in range(1, 5):
            rows.append((f"E{e}", "intake", None, "ors", str(item), f"{(e + item) % 10}.5"))
            rows.append((f"E{e}", "end", None, "ors", str(item), str((e * item) % 11)))
        for s in (1, 2, 3):
            for item in range(1, 5):
                rows.append((f"E{e}", "session", str(s), "srs", str(item), str(7 + (s + item) % 4)))
    responses = pd.DataFrame(
        rows, columns=["engagement_id", "occasion", "session", "instrument", "item", "value"]
    )
    return {"coaches": coaches, "engagements": eng, "sessions": sessions, "responses": responses}


@pytest.fixture
def study_tables() -> dict[str, pd.DataFrame]:
    return small_study()
