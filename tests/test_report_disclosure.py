"""A body's report against an attacker: every number goes through the disclosure gate.

Each test rebuilds a situation in which a reader of the published report could learn about
fewer than k clients (a tiny group behind an interval or an effect size, a percentage of one
to four clients, a model of three clients, exact totals beside rounded cells, a coach
labelled as the small one), and checks that the report no longer shows it.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd

from outcomes.report import ReportOptions, build_report
from outcomes.report._render import visible_text
from outcomes.simulate.synthetic import simulate_study
from outcomes.study import Study

SALT = b"d" * 32
K = 5


def _tables(seed: int = 11, coaches: int = 8, per_coach: int = 10) -> dict[str, pd.DataFrame]:
    sim = simulate_study(n_coaches=coaches, clients_per_coach=per_coach, dropout=0.0,
                         seed=seed)
    return {kind: frame.copy() for kind, frame in sim.tables.items()}


def _without_end(tables: dict[str, pd.DataFrame], engagements: set[str]) -> None:
    """Remove the end scores of some engagements (in place)."""
    responses = tables["responses"]
    tables["responses"] = responses[~((responses["occasion"] == "end")
                                      & responses["engagement_id"].isin(engagements))]


def _build(tables: dict[str, pd.DataFrame], folder, **options):  # noqa: ANN001, ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build_report(Study(tables=tables, source=str(folder / "study")),
                              out=folder / "out", salt=SALT, pdf=False,
                              options=ReportOptions(n_boot=0, k=K, **options))
    text = re.sub(r"<[^>]+>", " ", visible_text(report.html.read_text(encoding="utf-8")))
    return report, re.sub(r"\s+", " ", text)


def _nothing_below_k(report) -> None:  # noqa: ANN001
    """No released number rests on 1 to k - 1 clients."""
    log = report.disclosure.log
    released = log[~log["withheld"] & log["n"].notna()]
    small = released[(released["n"] > 0) & (released["n"] < K)]
    assert small.empty, small


def test_three_clients_with_an_end_score_give_no_interval_or_effect_size(tmp_path):
    tables = _tables()
    ids = list(tables["engagements"]["engagement_id"])
    _without_end(tables, set(ids[3:]))
    report, text = _build(tables, tmp_path)
    _nothing_below_k(report)
    assert "56.1" not in text  # the Wilson interval [0.0, 56.1] exists only for n = 3
    assert not re.search(r"fewer than 5 clients?\s*\d", text)
    assert "Improvement cannot be shown yet" in text


def _complete(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The study without the engagements that miss an intake or an end score."""
    table = Study(tables=tables).analysis_table()
    gone = set(table.loc[table[["baseline", "end_score"]].isna().any(axis=1), "engagement_id"])
    return {kind: frame[~frame["engagement_id"].isin(gone)] if "engagement_id" in frame
            else frame for kind, frame in tables.items()}


def test_a_percentage_of_one_to_four_missing_end_scores_is_withheld(tmp_path):
    tables = _complete(_tables())
    ids = list(tables["engagements"]["engagement_id"])
    _without_end(tables, set(ids[:3]))
    report, text = _build(tables, tmp_path)
    _nothing_below_k(report)
    missing = report.disclosure.log.query("what == 'engagements without both scores'")
    assert len(missing) and missing["withheld"].all()
    assert not re.search(r"withheld engagements \(\d+ %\)", text)
    for share in ("(2 %)", "(3 %)", "(4 %)", "(5 %)", "(6 %)"):
        assert share not in text


def test_the_session_model_of_three_clients_is_withheld(tmp_path):
    tables = _tables()
    ids = list(tables["engagements"]["engagement_id"])
    responses = tables["responses"]
    keep = set(ids[:3])
    tables["responses"] = responses[(responses["occasion"] != "session")
                                    | responses["engagement_id"].isin(keep)]
    report, text = _build(tables, tmp_path)
    _nothing_below_k(report)
    assert "session pairs of 3 clients" not in text
    assert not re.search(r"session pairs of [1-4] clients", text)
    assert "ORS points per SRS point" not in text or "withheld" in text


def test_round_counts_rounds_every_total_and_percentages_come_from_rounded_counts(tmp_path):
    tables = _tables(seed=3, coaches=9, per_coach=12)
    report, text = _build(tables, tmp_path, round_counts=True)
    log = report.disclosure.log
    counts = log[log["rule"] == "rounded count"]
    assert len(counts) and (counts["value"] % 5 == 0).all()
    assert not (log["rule"] == "count").any()  # no exact count beside rounded ones
    n = len(report.facts and tables["engagements"])
    if n % 5:
        assert f"{n:,}" not in re.findall(r"\d[\d,]*", text.split("Reproducibility")[0])
    for record in log[log["rule"] == "percentage"].itertuples():
        numerator_ok = any(abs(100 * c / d - 100 * record.value) < 0.51
                           for d in counts["value"] for c in counts["value"] if d)
        assert numerator_ok, record.what


def test_the_complementary_coach_reads_like_any_withheld_coach(tmp_path):
    tables = _tables(seed=5, coaches=9, per_coach=11)
    engagements = tables["engagements"]
    small = engagements["coach_id"].iloc[0]
    mine = engagements.loc[engagements["coach_id"] == small, "engagement_id"]
    dropped = set(mine.iloc[3:])
    for kind in ("engagements", "sessions", "responses"):
        tables[kind] = tables[kind][~tables[kind]["engagement_id"].isin(dropped)]
    report, text = _build(tables, tmp_path)
    _nothing_below_k(report)
    table = pd.read_csv(report.html.parent / "coach-effects.csv")
    withheld = table[table["clients"] == "withheld"]
    assert len(withheld) >= 2  # the coach of three and at least one complementary coach
    assert (withheld.drop(columns="coach") == "withheld").all().all()
    assert "fewer than 5 clients: not published" not in text
    assert "smaller coach" not in text and "fewer than 5" not in " ".join(
        table.astype(str).to_numpy().ravel())
