"""A coach's benchmark: the workbook template, reading it back, the arithmetic against the
norms, flags, what happens without a spread of coach effects, and the coach's report."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import outcomes as oc
from outcomes._errors import DataError, UsageError
from outcomes.benchmarking import (
    CLIENT_COLUMNS,
    SESSION_COLUMNS,
    Practice,
    WorkbookError,
    benchmark,
    practice_from_study,
    read_practice,
    write_template,
)
from outcomes.benchmarking.compare import ordinal
from outcomes.norms import Norms, build_norms
from outcomes.privacy import find_identifiers
from outcomes.report import build_benchmark_report
from outcomes.report._render import visible_text

CLIENTS = [  # client, sponsor, status, intake, end, sessions, early SRS
    ("anna", "self", "completed", 14.0, 26.5, 8, 38.0),
    ("ben", "organisation", "completed", 21.0, 24.0, 6, 35.0),
    ("cleo", "organisation", "completed", 25.5, 18.0, 10, 37.5),   # falls 7.5 points
    ("dev", "self", "completed", 9.0, 21.0, 7, 39.0),
    ("eli", "organisation", "completed", 17.5, 30.0, 9, 32.0),     # SRS below 36
    ("fay", "organisation", "ongoing", 19.0, None, 4, 38.5),
    ("gus", "self", "completed", 30.0, 33.0, 5, 39.5),
]


@pytest.fixture(scope="module")
def norms() -> Norms:
    return build_norms(oc.load_sample(), n_boot=0, seed=2)


def filled_template(path, clients=CLIENTS, sessions=()):  # noqa: ANN001, ANN201
    write_template(path)
    book = load_workbook(path)
    sheet = book["clients"]
    sheet.delete_rows(2)  # the example row
    for row in clients:
        sheet.append(list(row))
    if sessions:
        book["sessions"].delete_rows(2)
        for row in sessions:
            book["sessions"].append(list(row))
    book.save(path)
    return path


def test_the_template_has_the_sheets_notes_validation_and_an_example(tmp_path):
    path = write_template(tmp_path / "my_practice.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["read me", "clients", "sessions"]
    clients = book["clients"]
    assert [c.value for c in clients[1]] == list(CLIENT_COLUMNS)
    assert [c.value for c in book["sessions"][1]] == list(SESSION_COLUMNS)
    assert all(c.comment is not None for c in clients[1])
    assert clients["A2"].value.startswith("EXAMPLE")
    rules = {str(r.sqref): r for r in clients.data_validations.dataValidation}
    assert rules["B2:B1000"].type == "list" and rules["B2:B1000"].formula1 == '"self,organisation"'
    assert rules["D2:D1000"].type == "decimal" and (rules["D2:D1000"].formula1,
                                                   rules["D2:D1000"].formula2) == ("0", "40")
    assert rules["F2:F1000"].type == "whole"
    practice = read_practice(path)
    assert practice.clients.empty and practice.sessions is None


def test_a_filled_template_reads_back_by_row(tmp_path):
    practice = read_practice(filled_template(tmp_path / "p.xlsx"))
    clients = practice.clients
    assert clients["row"].tolist() == list(range(2, 2 + len(CLIENTS)))
    assert clients["client"].tolist() == [c[0] for c in CLIENTS]
    assert clients["end_ors"].isna().tolist() == [c[4] is None for c in CLIENTS]
    assert clients["sponsor"].tolist()[:2] == ["self", "organisation"]


@pytest.mark.parametrize("column, value, message", [
    ("intake_ors", 44, "outside 0-40"), ("end_ors", "lots", "is not a number"),
    ("sponsor", "employer", "is not allowed"), ("sessions", 2.5, "outside 1-200"),
    ("intake_ors", None, "is empty")])
def test_a_bad_cell_is_named_by_sheet_row_and_column(tmp_path, column, value, message):
    rows = [list(r) for r in CLIENTS]
    rows[2][list(CLIENT_COLUMNS).index(column)] = value
    path = filled_template(tmp_path / "p.xlsx", rows)
    with pytest.raises(DataError, match=message) as caught:
        read_practice(path)
    assert f"sheet clients, row 4, column \"{column}\"" in str(caught.value)


def test_workbook_level_mistakes(tmp_path):
    rows = [list(r) for r in CLIENTS] + [list(CLIENTS[0])]
    with pytest.raises(DataError, match="same client code is on two rows"):
        read_practice(filled_template(tmp_path / "dup.xlsx", rows))
    with pytest.raises(DataError, match="'zed' is not on the clients sheet"):
        read_practice(filled_template(tmp_path / "s.xlsx", sessions=[("zed", 1, 20.0, 38.0)]))
    with pytest.raises(UsageError, match="does not exist"):
        read_practice(tmp_path / "missing.xlsx")
    (tmp_path / "text.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match="cannot be read as an Excel workbook"):
        read_practice(tmp_path / "text.xlsx")


def test_expected_change_and_standing_by_hand(tmp_path, norms):
    practice = read_practice(filled_template(tmp_path / "p.xlsx"))
    result = benchmark(practice, norms)
    terms = norms.document["case_mix"]["terms"]
    effects = norms.document["coach_effects"]
    clients = result.table().set_index("row")
    done = [c for c in CLIENTS if c[4] is not None]
    expected = [terms["intercept"] + terms["baseline"] * c[3]
                + terms.get("sponsor[self]", 0.0) * (c[1] == "self") for c in done]
    difference = [c[4] - c[3] - e for c, e in zip(done, expected, strict=True)]
    rows_done = [2 + i for i, c in enumerate(CLIENTS) if c[4] is not None]
    assert clients.loc[rows_done, "expected"].tolist() == pytest.approx(expected)
    assert clients["difference"].dropna().tolist() == pytest.approx(difference)
    n, raw = len(done), float(np.mean(difference))
    weight = effects["tau2"] / (effects["tau2"] + effects["sigma"] ** 2 / n)
    standing = result.standing
    assert (standing["n"], standing["raw"]) == (n, pytest.approx(raw))
    assert standing["estimate"] == pytest.approx(weight * raw)
    assert standing["std_error"] == pytest.approx(np.sqrt(weight) * effects["sigma"]
                                                  / np.sqrt(n))
    assert standing["weight"] == pytest.approx(weight)
    assert 0 <= standing["percentile_low"] < standing["percentile_high"] <= 100
    assert result.n_clients == 7 and result.n_complete == 6
    assert clients.loc[7, "category"] == "missing"  # fay is ongoing


def test_flags_from_intake_and_end(tmp_path, norms):
    result = benchmark(read_practice(filled_template(tmp_path / "p.xlsx")), norms)
    assert result.flag_source == "from intake and end scores"
    flags = {(r.row, r.flag) for r in result.flags.itertuples()}
    assert (4, "reliable deterioration") in flags  # cleo: 25.5 -> 18
    assert (6, "alliance concern") in flags  # eli: SRS 32
    reason = result.flags.set_index("row").loc[4, "reason"]
    reason = reason if isinstance(reason, str) else reason.iloc[0]
    assert "7.5 points" in reason and "cleo" not in reason


def test_flags_session_by_session(tmp_path, norms):
    sessions = [("anna", s, 14.0 + 1.5 * s, 38.0) for s in range(1, 7)]
    sessions += [("cleo", s, 25.5 - 2.0 * s, 38.0) for s in range(1, 6)]
    practice = read_practice(filled_template(tmp_path / "p.xlsx", sessions=sessions))
    result = benchmark(practice, norms)
    assert result.flag_source == "session by session"
    by_row = result.flags.set_index("row")
    assert by_row.loc[4, "flag"] in ("reliable deterioration", "review for referral or ending")
    assert 2 not in by_row.index or by_row.loc[2, "flag"] != "reliable deterioration"


def test_without_a_spread_of_coach_effects(tmp_path, norms):
    document = norms.to_dict()
    document["coach_effects"] = {"withheld": "fewer than 5 coaches"}
    result = benchmark(read_practice(filled_template(tmp_path / "p.xlsx")), Norms(document))
    assert result.standing is None
    assert any("no standing to estimate" in s for s in result.statements)
    with pytest.raises(UsageError, match="no funnel"):
        result.plot()


def test_what_the_numbers_can_say_depends_on_the_clients(tmp_path, norms):
    few = benchmark(read_practice(filled_template(tmp_path / "p.xlsx")), norms)
    assert any("fewer than 10 finished clients" in s for s in few.statements)
    many = benchmark(practice_from_study(oc.load_sample(), "C010"), norms)
    assert many.standing["weight"] > few.standing["weight"]
    width = many.standing["ci_high"] - many.standing["ci_low"]
    assert width < few.standing["ci_high"] - few.standing["ci_low"]
    assert ordinal(3) == "3rd" and ordinal(11) == "11th" and ordinal(22) == "22nd"


def test_faces_and_the_coachs_report(tmp_path, norms):
    practice = read_practice(filled_template(tmp_path / "p.xlsx"))
    result = benchmark(practice, norms)
    assert "client" not in result.table().columns
    assert "What the numbers can and cannot say" in result.summary()
    payload = result.to_dict()
    assert payload["standing"]["n"] == 6 and payload["norms"]["version"] == 2
    assert list(result.by_band.columns) == ["band", "n", "mean_change", "body_median",
                                            "body_q25", "body_q75", "body_n"]
    assert "your mean change" in result.summary()  # display labels only in the text
    assert repr(result).startswith("<Benchmark: 7 clients vs ")
    ax = result.plot()
    assert ax.get_xlabel() == "clients"
    report = build_benchmark_report(result, out=tmp_path / "out", pdf=False,
                                    identifiers=practice.clients["client"])
    html = visible_text(report.html.read_text(encoding="utf-8"))
    assert find_identifiers(html, practice.clients["client"]) == []
    assert html.count("<img ") == 1 and "Clients to look at" in html


def test_a_study_coach_as_a_practice():
    practice = practice_from_study(oc.load_sample(), "C001")
    assert isinstance(practice, Practice) and practice.sessions is not None
    assert set(practice.sessions["client"]) <= set(practice.clients["client"])
    with pytest.raises(UsageError, match="no consenting engagements"):
        practice_from_study(oc.load_sample(), "nobody")
    frame = pd.DataFrame(practice.clients)
    assert frame["intake_ors"].notna().all()


def test_coverage_and_ci_level_are_checked(norms):
    practice = practice_from_study(oc.load_sample(), "C001")
    with pytest.raises(UsageError, match="benchmark: ci_level must lie between 0 and 1"):
        benchmark(practice, norms, ci_level=95)
    with pytest.raises(UsageError, match="benchmark: coverage must lie between 0 and 1"):
        benchmark(practice, norms, coverage=1.5)


TYPOS = [  # a workbook with a mistake on most rows; the rows are numbered as in Excel
    ("anna", "self", "completed", 14.0, 26.5, 8, 38.0),                        # 2
    ("ben", "employer", "completed", 21.0, 24.0, 6, 35.0),                     # 3 sponsor
    ("cleo", "organisation", "completed", None, 18.0, 10, 37.5),               # 4 empty
    ("dev", "self", "completed", 9.0, 21.0, 7, 39.0),                          # 5 code twice
    ("eli", "organisation", "completed", 17.5, 30.0, True, 32.0),              # 6 TRUE
    ("fay", "organisation", "ongoing", 19.0, None, 4, 38.5),                   # 7
    ("gus", "self", "completed", 30.0, datetime(2024, 3, 1), 5, 39.5),         # 8 a date
    ("dev", "self", "completed", 9.5, 20.0, 7, 38.0),                          # 9 code twice
]
TYPO_SESSIONS = [("anna", 1, 14.0, 37.0), ("anna", 2, 15.0, 37.5),            # 2, 3
                 ("anna", 2, 15.0, 37.5), ("zed", 1, 20.0, 38.0),             # 4 twice, 5
                 ("cleo", 1, 20.0, 38.0), ("fay", 1, "x" * 300, 38.0),        # 6, 7 long
                 ("fay", 2, 21.0, 38.0)]                                      # 8
TYPO_PROBLEMS = [  # sheet, row, column, rule
    ("clients", 3, "sponsor", "allowed_value"), ("clients", 4, "intake_ors", "required"),
    ("clients", 5, "client", "duplicate"), ("clients", 6, "sessions", "number"),
    ("clients", 8, "end_ors", "number"), ("clients", 9, "client", "duplicate"),
    ("sessions", 3, "session", "duplicate"), ("sessions", 4, "session", "duplicate"),
    ("sessions", 5, "client", "unknown_client"), ("sessions", 6, "client", "client_set_aside"),
    ("sessions", 7, "ors", "number")]


def test_every_problem_of_a_workbook_is_told_at_once(tmp_path):
    path = filled_template(tmp_path / "p.xlsx", TYPOS, TYPO_SESSIONS)
    with pytest.raises(WorkbookError) as caught:
        read_practice(path)
    error = caught.value
    assert isinstance(error, DataError)
    found = error.problems
    assert list(found[["sheet", "row", "column", "rule"]].itertuples(index=False,
                                                                      name=None)) == TYPO_PROBLEMS
    assert found["fix"].str.len().gt(10).all() and found.loc[0, "cell"] == "B3"
    text = str(error)
    assert text.startswith(f"{path}: 11 problems in the workbook:")
    for line in ['sheet clients, row 3, column "sponsor": \'employer\' is not allowed (cell B3). '
                 "Write one of self, organisation.",
                 'sheet clients, row 4, column "intake_ors": is empty (cell D4). Fill it in',
                 "the same client code is on two rows (rows 5 and 9)",
                 'row 6, column "sessions": TRUE is not a number (cell F6)',
                 'row 8, column "end_ors": 2024-03-01 is not a number (cell E8)',
                 'sheet sessions, row 5, column "client": client \'zed\' is not on the clients',
                 "sheet sessions, row 6, column \"client\": left out with its client, whose row 4",
                 "session 2 of this client is on rows 3 and 4"]:
        assert line in text, line
    assert "x" * 40 + "…" in text and "x" * 41 not in text


def test_errors_report_keeps_the_usable_rows_and_names_the_others(tmp_path):
    practice = read_practice(filled_template(tmp_path / "p.xlsx", TYPOS, TYPO_SESSIONS),
                             errors="report")
    assert practice.clients["row"].tolist() == [2, 7]
    assert practice.sessions["row"].tolist() == [2, 8]
    assert len(practice.problems) == len(TYPO_PROBLEMS)
    counts = practice.counts.set_index("sheet")
    assert counts.loc["clients"].tolist() == [8, 2, 6] and counts.loc["sessions"].tolist() == [
        7, 2, 5]
    assert (counts["input"] == counts["valid"] + counts["rejected"]).all()
    note = practice.notes[0]
    assert "rows 3, 4, 5, 6, 8 and 9 of the clients sheet" in note
    assert "rows 3, 4, 5, 6 and 7 of the sessions sheet" in note
    assert not find_identifiers(note, [c[0] for c in TYPOS])
    clean = read_practice(filled_template(tmp_path / "ok.xlsx"), errors="report")
    assert clean.problems.empty and clean.notes == () and len(clean.clients) == len(CLIENTS)
    with pytest.raises(UsageError, match="errors must be one of"):
        read_practice(tmp_path / "ok.xlsx", errors="ignore")


def test_a_missing_heading_sets_its_sheet_aside_and_suggests_the_rename(tmp_path):
    path = filled_template(tmp_path / "p.xlsx")
    book = load_workbook(path)
    book["clients"]["D1"] = "Intake ORS"
    book["clients"]["B1"] = "SPONSOR "     # case and spaces of a heading are forgiven
    book.save(path)
    with pytest.raises(WorkbookError, match="Rename the heading 'Intake ORS' to intake_ors"):
        read_practice(path)
    practice = read_practice(path, errors="report")
    assert practice.clients.empty and practice.counts.set_index("sheet").loc[
        "clients"].tolist() == [len(CLIENTS), 0, len(CLIENTS)]
    assert practice.problems[["row", "column"]].values.tolist() == [[1, "intake_ors"]]
    assert "every row of the clients sheet" in practice.notes[0]


def test_what_the_practice_and_the_norms_lack_is_said_in_words(tmp_path, norms):
    unfinished = [row[:4] + (None,) + row[5:6] + (None,) for row in CLIENTS]
    result = benchmark(read_practice(filled_template(tmp_path / "p.xlsx", unfinished)), norms)
    assert set(result.missing) == {"end_scores", "session_ratings"}
    assert result.missing["end_scores"].startswith("No end scores yet: your change")
    assert "Fill in early_srs on the clients sheet" in result.missing["session_ratings"]
    assert result.to_dict()["missing"] == result.missing
    written = build_benchmark_report(result, out=tmp_path / "out", pdf=False)
    text = visible_text(written.html.read_text(encoding="utf-8"))
    assert "No end scores yet: your change" in text and "No session ratings yet" in text

    document = norms.to_dict()
    document["case_mix"] = {"withheld": "No end scores yet: the body had none."}
    thin = benchmark(read_practice(filled_template(tmp_path / "q.xlsx")), Norms(document))
    assert thin.missing["norms"].startswith("The body's norms do not hold the change expected")
    assert "the body had none" in thin.missing["norms"]
