"""A coach's benchmark: the workbook template, reading it back, the arithmetic against the
norms, flags, what happens without a spread of coach effects, and the coach's report."""

from __future__ import annotations

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
    assert payload["standing"]["n"] == 6 and payload["norms"]["version"] == 1
    assert list(result.by_band.columns) == ["band", "n", "mean_change", "body_median",
                                            "body_q25", "body_q75", "body_n"]
    assert "your mean change" in result.summary()  # display labels only in the text
    assert repr(result).startswith("<Benchmark: 7 clients (6 with intake and end) against")
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
