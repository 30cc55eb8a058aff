"""APA 7 tables: the number rules, each model's table against its result, Word and LaTeX."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import outcomes as oc
from outcomes._errors import UsageError
from outcomes.apa import numbers as num
from outcomes.apa.table import ApaTable
from outcomes.apa.word import read_docx_cells, write_docx

pytestmark = pytest.mark.filterwarnings("ignore::outcomes.DataWarning")

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
unit = st.floats(min_value=-1, max_value=1, allow_nan=False)


@given(unit)
def test_a_bounded_value_loses_its_leading_zero_and_keeps_its_value(x):
    text = num.number(x, 2, leading_zero=False)
    assert not re.match(r"^[−-]?0\.", text)
    assert abs(float(text.replace(num.MINUS, "-")) - x) <= 0.005 + 1e-12


@given(finite, st.integers(min_value=0, max_value=4))
def test_a_number_has_its_decimals_a_true_minus_and_no_negative_zero(x, digits):
    text = num.number(x, digits)
    assert "-" not in text
    assert len(text.partition(".")[2]) == digits
    assert text.strip(num.MINUS).replace(".", "").strip("0") or not text.startswith(num.MINUS)


@given(st.floats(min_value=0, max_value=1))
def test_p_values_follow_apa(p):
    text = num.p_value(p)
    if p < 0.001:
        assert text == "< .001"
    elif p > 0.999:
        assert text == "> .999"
    else:
        assert re.fullmatch(r"\.\d{3}", text) and abs(float(text) - p) <= 0.0005 + 1e-12


@pytest.fixture(scope="module")
def table():
    return oc.load_sample().analysis_table()


@pytest.fixture(scope="module")
def shares(table):
    return oc.decompose(table, "end_score", oc.FACTORS, covariates=["baseline"], n_boot=40,
                        cluster="coach_id", seed=3)


def _bare(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace("0.", ".", 1) if value >= 0 else "x"


def test_the_shares_table_holds_the_results_numbers_rounded_as_apa_says(shares):
    t = shares.to_apa(number=3, reference="asay-lambert-1999")
    assert t.number == 3 and t.title.startswith("Each Factor's Share")
    assert t.columns == ("Factor", "Measures", "Estimate", "95% CI", "Estimate", "95% CI",
                         "Asay & Lambert (1999)")
    ci = shares.ci.set_index(["quantity", "factor"])
    for row, name in zip(t.rows, shares.shares.index, strict=False):
        assert row[0] == name.capitalize()
        assert row[2] == _bare(shares.shares[name], 3)   # shares below .10: three decimals
        assert row[4] == _bare(shares.relative[name], 2)
        low, high = ci.loc[("relative", name), ["ci_low", "ci_high"]]
        assert row[5] == f"[{_bare(low, 2)}, {_bare(high, 2)}]"
    assert t.rows[-1][0] == "Total" and t.rows[-1][4] == "1.00"
    assert [s[0] for s in t.spanners] == ["Share of *R*²", "Proportion of explained"]
    for text in ("*n* = 842", "40 replicates", "BCa", "LMG", "CI = confidence interval"):
        assert text in t.note


def test_no_header_of_any_model_table_is_a_code_name(shares, table):
    study = oc.load_sample()
    results = [
        shares,
        oc.dominance(table, "end_score", oc.FACTORS, covariates=["baseline"]),
        oc.multilevel(table, "end_score", oc.FACTORS, covariates=["baseline"]),
        oc.multilevel_shares(table, "end_score", oc.FACTORS, covariates=["baseline"]),
        oc.change(table, pre="baseline", post="end_score", instrument="ors"),
        oc.reliability(study.valid("responses"), "wai-sr", n_boot=20, seed=1),
    ]
    for result in results:
        for t in (result.to_apa(), *([result.to_apa(part="variance")]
                                    if isinstance(result, oc.MultilevelFit) else [])):
            text = " ".join([*t.columns, t.title, *(r[0] for r in t.rows)])
            assert not SNAKE.search(text), (type(result).__name__, SNAKE.findall(text))
            assert t.note and t.rows
            assert all(len(r) == len(t.columns) for r in t.rows)


def test_the_multilevel_table_matches_the_fit(table):
    fit = oc.multilevel(table, "end_score", oc.FACTORS, covariates=["baseline"])
    t = fit.to_apa()
    body = {row[0]: row for row in t.rows}
    alliance = fit.fixed_effects.loc["alliance_within"]
    row = body["Alliance (within coach)"]
    assert row[1] == f"{alliance.estimate:.2f}" and row[2] == f"{alliance.std_error:.2f}"
    assert row[-1] == ("< .001" if alliance.p_value < .001 else _bare(alliance.p_value, 3))
    assert body["Marginal R²"][1] == _bare(fit.r2_marginal, 2)
    assert body["Coaches"][1] == str(fit.n_clusters)
    assert [g for _, g in t.groups] == ["Client", "Relationship", "Expectancy", "Technique",
                                        "Covariates", "Variance components", "Model fit"]
    parts = fit.to_apa(part="variance")
    assert [r[1] for r in parts.rows[:-1]] == [_bare(v, 2) for v in fit.rights_sterba]


def test_unknown_options_say_what_is_accepted(shares):
    with pytest.raises(UsageError, match="reference="):
        shares.to_apa(part="variance")
    with pytest.raises(UsageError, match="whole number"):
        shares.to_apa(number=0)


def test_word_holds_the_same_cells_with_apa_rules_and_same_bytes(shares, tmp_path):
    t = shares.to_apa(number=2, reference="asay-lambert-1999")
    first, second = t.to_docx(tmp_path / "a.docx"), write_docx([t], tmp_path / "b.docx")
    assert first.read_bytes() == second.read_bytes()
    assert read_docx_cells(first) == [t.cells()]
    xml = zipfile.ZipFile(first).read("word/document.xml").decode()
    assert "<w:b/>" in xml and "Table 2" in xml and "<w:i/>" in xml
    assert xml.count('w:val="single" w:sz="12"') >= 2 * len(t.columns)  # top and bottom rules
    assert "w:left " not in xml and "<w:insideV" not in xml              # no vertical lines


def test_latex_has_booktabs_rules_and_escapes(shares, tmp_path):
    t = shares.to_apa()
    text = shares.to_latex(tmp_path / "t.tex")
    assert text == (tmp_path / "t.tex").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line.endswith("rule")] == [
        r"\toprule", r"\midrule", r"\bottomrule"]
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert len(body) == len(t.rows)
    assert "\u2212" not in text and "²" not in text   # Unicode set as LaTeX commands
    assert r"95\% CI" in text and r"\textit{Note.}" in text


def test_group_headings_and_spanners_show_in_every_format(tmp_path):
    t = ApaTable(4, "Two Groups", ("Term", "*b*", "*SE*"),
                 (("Intercept", "1.00", "0.10"), ("Alliance", "0.50", "0.20"),
                  ("Hope", "−0.10", "0.05")),
                 note="A *b* & 50% test_name.", groups=((1, "Relationship"),),
                 spanners=(("Coefficients", 1, 2),))
    assert t.cells()[0] == ["", "Coefficients", ""] and t.cells()[2] == ["Intercept", "1.00",
                                                                         "0.10"]
    assert t.cells()[3] == ["Relationship", "", ""]
    assert read_docx_cells(t.to_docx(tmp_path / "g.docx")) == [t.cells()]
    latex = t.to_latex()
    assert r"\multicolumn{3}{l}{Relationship}" in latex and r"\quad Alliance" in latex
    assert r"\cmidrule(lr){2-3}" in latex and r"50\% test\_name" in latex
    html = t._repr_html_()
    assert "<em>b</em>" in html and 'colspan="2"' in html and "padding-left" in html


def test_every_result_has_an_apa_table(request):
    """Every public result class lays out as an APA table (its own, or from ``table()``)."""
    from tests.test_results import FACTORIES

    study = oc.load_sample()
    frame = study.analysis_table()
    tmp = request.getfixturevalue("tmp_path")
    for name in ("Comparison", "CoachEffects", "Trajectories", "ImprovementSplit"):
        result = FACTORIES[name](study, frame, tmp)
        t = result.to_apa(number=5)
        assert t.title and t.rows and all(len(r) == len(t.columns) for r in t.rows), name
        assert not any(SNAKE.search(c) for c in t.columns), (name, t.columns)
        assert np.all([isinstance(c, str) for r in t.rows for c in r])
