"""What a person reads of a decomposition: one unit, one rounding rule, words not code, and
the intention-to-treat shares beside the complete-case shares with the rule that says which
a conclusion rests on. The numbers shown are checked against the data faces, which keep R²
units and the shared column vocabulary."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import outcomes as oc
from outcomes._errors import DataWarning, UsageError
from outcomes.shares._share_words import METHOD_NAMES, lay_out, percent, span
from outcomes.shares.decomposition import Decomposition, decompose

CODE_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b")
FACTORS = {"working_alliance": ["bond", "task"], "hope_expectancy": ["hope"],
           "technique_dose": ["dose"]}
PERCENT_ROW = re.compile(r"^(?P<factor>[A-Z][a-z ]+?)\s{2,}(?P<cells>.*)$")


def _clients(n=300, seed=0, dropout=True):
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(np.zeros(4), 0.4 + 0.6 * np.eye(4), n)
    df = pd.DataFrame(x, columns=["bond", "task", "hope", "dose"])
    df["end_score"] = (df.bond + 0.5 * df.task + 0.4 * df.hope + 0.3 * df.dose
                       + rng.normal(size=n))
    df["coach_id"] = [f"C{i % 15}" for i in range(n)]
    if dropout:  # dropout depends on the observed alliance (MAR)
        df.loc[rng.random(n) < 1 / (1 + np.exp(1 + 1.5 * df.bond)), "end_score"] = np.nan
        df.loc[rng.random(n) < 0.06, "hope"] = np.nan
    return df


def _table_rows(text: str) -> dict[str, list[str]]:
    """The rows of the summary's share table: factor -> its cells."""
    block = text.split("\n\n")[1].splitlines()
    return {m["factor"]: re.split(r"\s{2,}", m["cells"].strip())
            for m in map(PERCENT_ROW.match, block[1:]) if m}


def test_summary_shows_percent_of_explained_with_one_rounding_rule_and_r2_once():
    df = _clients(dropout=False)
    d = decompose(df, "end_score", FACTORS, n_boot=80, seed=2,
                  cluster="coach_id")
    text = str(d.summary())
    rows = _table_rows(text)
    assert list(rows) == ["Working alliance", "Hope expectancy", "Technique dose"]
    for name, cells in zip(d.shares.index, rows.values(), strict=True):
        low, high = d._interval(name, "relative")
        assert cells == [percent(d.relative[name]), span(low, high)]
        assert cells[0] == f"{100 * d.relative[name]:.1f} %"
    numbers = re.findall(r"\d+\.\d+", text.split("\n\n")[1])
    assert all(len(n.split(".")[1]) == 1 for n in numbers), numbers  # one decimal throughout
    assert text.count("R² =") == 1 and f"R² = {d.r2:.3f}" in text
    assert not CODE_NAME.search(text), CODE_NAME.findall(text)
    assert "bias-corrected and accelerated (BCa)" in text and "bca" not in text
    assert "resampling the 15 clusters (coaches) whole" in text


def test_covariates_are_stated_once_in_percent_of_total_variance():
    df = _clients(dropout=False)
    d = decompose(df, "end_score", {"alliance": ["bond", "task"], "hope": ["hope"]},
                  covariates=["dose"])
    text = str(d.summary())
    assert (f"The model explains {percent(d.r2)} of the variance in end score. Dose, entered "
            f"first, explains {percent(d.r2_covariates)}; the two factors share the remaining "
            f"{percent(d.r2 - d.r2_covariates)} (R² = {d.r2 - d.r2_covariates:.3f}).") in text


@pytest.mark.parametrize("method", ["first", "last", "betasq"])
def test_methods_that_do_not_add_up_say_so_in_words(method):
    d = decompose(_clients(dropout=False), "end_score", FACTORS, method=method)
    text = str(d.summary())
    assert METHOD_NAMES[method] in text and "do not add up" in text
    rows = _table_rows(text)
    assert sum(float(c[0].rstrip(" %")) for c in rows.values()) == pytest.approx(100, abs=0.2)


def test_reference_column_is_in_the_same_unit():
    table = oc.load_sample().analysis_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        d = decompose(table, "end_score", oc.FACTORS, covariates=["baseline"])
    text = str(d.summary(reference="asay-lambert-1999"))
    rows = _table_rows(text)
    assert [c[-1] for c in rows.values()] == ["40.0 %", "30.0 %", "15.0 %", "15.0 %"]
    assert "Asay & Lambert (1999)" in text.split("\n\n")[1].splitlines()[0]
    assert "Source: " in text and "ci_low" not in text
    other = str(d.summary(reference="norcross-lambert-2011"))  # a split of total variance
    assert "as shares of the total outcome variance" in other


def test_itt_shares_stand_beside_the_complete_case_shares_of_the_same_model():
    df = _clients()
    with pytest.warns(DataWarning, match="left out"):
        listwise = decompose(df, "end_score", FACTORS)
    itt = decompose(df, "end_score", FACTORS, missing="mi", n_imputations=5, seed=1)
    cc = itt.complete_cases
    assert isinstance(cc, Decomposition) and cc.n == listwise.n < itt.n == len(df)
    np.testing.assert_allclose(cc.shares, listwise.shares, rtol=0, atol=1e-12)
    assert cc.r2 == pytest.approx(listwise.r2, abs=1e-12)
    em = decompose(df, "end_score", FACTORS, missing="em")
    np.testing.assert_allclose(em.complete_cases.shares, listwise.shares, atol=1e-12)
    text = str(itt.summary())
    assert f"Complete cases (n = {listwise.n})" in text
    for name, cells in zip(itt.shares.index, _table_rows(text).values(), strict=True):
        assert cells == [percent(itt.relative[name]), percent(listwise.relative[name])]
    assert "The conclusion rests on the intention-to-treat shares" in text
    gap = 100 * (itt.relative - listwise.relative).abs().max()
    assert f"differ by at most {gap:.1f} percentage points" in text
    payload = json.loads(json.dumps(itt.to_dict(), allow_nan=False))
    assert payload["complete_cases"]["n"] == listwise.n
    assert payload["complete_cases"]["shares"] == pytest.approx(listwise.shares.to_dict())


def test_no_comparison_when_every_client_is_complete():
    d = decompose(_clients(dropout=False), "end_score", FACTORS, missing="mi", seed=1)
    assert d.complete_cases is None
    assert "Complete cases" not in str(d.summary()) and str(d.conclusion_basis()) == ""


def test_the_rule_names_the_itt_shares_and_says_when_the_order_differs():
    df = _clients()
    with pytest.warns(DataWarning):
        listwise = decompose(df, "end_score", FACTORS)
    itt = decompose(df, "end_score", FACTORS, missing="mi", n_imputations=5, seed=1)
    said = str(listwise.conclusion_basis(itt))
    assert said.startswith(f"Intention to treat (multiple imputation, n = {itt.n}): "
                           f"working alliance {percent(itt.relative['working_alliance'])}")
    assert "The conclusion rests on the intention-to-treat shares" in said
    fraction = 100 * itt.missingness.fraction_incomplete
    assert f"{fraction:.1f} % of clients miss a value" in said
    own = str(itt.conclusion_basis()).splitlines()  # from the other side: the same rule
    assert own[0].startswith(f"Complete cases (n = {listwise.n}): working alliance "
                             f"{percent(listwise.relative['working_alliance'])}")
    assert own[1] == said.splitlines()[1]
    reordered = dataclasses.replace(listwise, shares=listwise.shares[::-1].set_axis(
        listwise.shares.index))
    assert "rank the factors differently (technique dose, hope expectancy, working " \
           "alliance)" in str(reordered.conclusion_basis(itt))
    with pytest.raises(UsageError, match="intention-to-treat"):
        listwise.conclusion_basis(listwise)


def test_notebook_view_is_a_table_in_words():
    itt = decompose(_clients(), "end_score", FACTORS, missing="mi", n_imputations=5, seed=1,
                    n_boot=40, cluster="coach_id")
    page = itt._repr_html_()
    headings = re.findall(r"<th[^>]*>(.*?)</th>", page)
    assert headings == ["Factor", "Share of explained", "95 % interval",
                        f"Complete cases (n = {itt.complete_cases.n})"]
    assert not [h for h in headings if CODE_NAME.search(h)]
    assert percent(itt.relative.iloc[0]) in page and "rests on the intention-to-treat" in page


def test_lay_out_aligns_labels_left_and_numbers_right():
    text = lay_out(pd.DataFrame({"Factor": ["Client", "Technique"],
                                 "Share": ["5.0 %", "95.0 %"]}))
    assert text.splitlines() == ["Factor      Share", "Client      5.0 %", "Technique  95.0 %"]


def test_true_score_shares_are_marked_in_the_table():
    df = _clients(dropout=False)
    d = decompose(df, "end_score", FACTORS, reliability={"bond": 0.8, "task": 0.85})
    text = str(d.summary())
    assert "Working alliance (true score)" in text
    assert "Hope expectancy (true score)" not in text and "\nHope expectancy " in text
