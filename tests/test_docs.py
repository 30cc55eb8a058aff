"""The data-model docs name every validation rule and every analysis-table column."""

from pathlib import Path

from outcomes.analysis import describe_columns
from outcomes.validation.rules import RULES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data.md"


def test_every_rule_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    assert [r for r in RULES if f"`{r}`" not in text] == []


def test_every_analysis_column_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    assert [c for c in describe_columns()["column"] if f"`{c}`" not in text] == []
