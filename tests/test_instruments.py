"""The instrument registry: packaged files, the loader's checks, user instruments."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from outcomes import instruments
from outcomes._errors import DataError, UsageError
from outcomes.schema import spelling_key

# Structures as each instrument's authors publish them (items, subscales, reverse keys).
EXPECTED = {
    "wai-sr": dict(n=12, range=(1, 5), factor="relationship", reverse=(), unscored=(),
                   scales={"task": (1, 2, 10, 12), "goal": (4, 6, 8, 11),
                           "bond": (3, 5, 7, 9), "total": tuple(range(1, 13))}),
    "srs": dict(n=4, range=(0, 10), factor="relationship", reverse=(), unscored=(),
                scales={"total": (1, 2, 3, 4)}),
    "ors": dict(n=4, range=(0, 10), factor="outcome", reverse=(), unscored=(),
                scales={"total": (1, 2, 3, 4)}),
    "ahs": dict(n=12, range=(1, 8), factor="expectancy", reverse=(), unscored=(3, 5, 7, 11),
                scales={"agency": (2, 9, 10, 12), "pathways": (1, 4, 6, 8),
                        "total": (1, 2, 4, 6, 8, 9, 10, 12)}),
    "ceq": dict(n=6, range=(1, 9), factor="expectancy", reverse=(), unscored=(),
                scales={"credibility": (1, 2, 3), "expectancy": (4, 5, 6)}),
    "lot-r": dict(n=10, range=(0, 4), factor="client", reverse=(3, 7, 9),
                  unscored=(2, 5, 6, 8), scales={"total": (1, 3, 4, 7, 9, 10)}),
    "mspss": dict(n=12, range=(1, 7), factor="client", reverse=(), unscored=(),
                  scales={"significant_other": (1, 2, 5, 10), "family": (3, 4, 8, 11),
                          "friends": (6, 7, 9, 12), "total": tuple(range(1, 13))}),
    "gse": dict(n=10, range=(1, 4), factor="client", reverse=(), unscored=(),
                scales={"total": tuple(range(1, 11))}),
    "urica": dict(n=32, range=(1, 5), factor="client", reverse=(), unscored=(4, 9, 20, 31),
                  scales={"precontemplation": (1, 5, 11, 13, 23, 26, 29),
                          "contemplation": (2, 8, 12, 15, 19, 21, 24),
                          "action": (3, 7, 10, 14, 17, 25, 30),
                          "maintenance": (6, 16, 18, 22, 27, 28, 32),
                          "readiness": None}),
    "gas": dict(n=10, range=(-2, 2), factor="outcome", reverse=(), unscored=(),
                scales={"tscore": tuple(range(1, 11))}),
}

RULES = {"wai-sr": "mean", "srs": "sum", "ors": "sum", "ahs": "sum", "ceq": "zsum",
         "lot-r": "sum", "mspss": "mean", "gse": "sum", "gas": "gas-tscore"}

TECHNIQUES = {
    "grow", "solution-focused", "cognitive-behavioural", "psychodynamic", "narrative",
    "strengths-based", "motivational-interviewing", "psychometric-feedback",
    "multisource-feedback", "mindfulness", "gestalt", "transactional-analysis",
    "positive-psychology", "appreciative-inquiry",
}

BASE = """
key = "test-scale"
name = "Test scale"
citation = "Nobody (2024)."
licence = "Ours."
factor = "client"
n_items = 4
reverse = [4]

[response]
min = 1
max = 5

[scales.total]
items = [1, 2, 3, 4]
rule = "sum"

[reliability.total]
alpha = { value = 0.8, source = "a test" }
"""


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_packaged_instrument_matches_published_structure(key):
    expected = EXPECTED[key]
    instrument = instruments.get(key)
    assert instrument.key == key
    assert instrument.n_items == expected["n"]
    assert instrument.items == tuple(range(1, expected["n"] + 1))
    assert instrument.item_range(1) == expected["range"]
    assert instrument.factor == expected["factor"]
    assert instrument.reverse == expected["reverse"]
    assert instrument.unscored == expected["unscored"]
    assert list(instrument.scales) == list(expected["scales"])
    for name, items in expected["scales"].items():
        if items is not None:
            assert instrument.scales[name].items == items
    if key in RULES:
        assert {s.rule for s in instrument.scales.values()} == {RULES[key]}
    assert instrument.citation and instrument.licence


def test_every_scored_item_belongs_to_a_scale_and_no_filler_does():
    for key in instruments.available():
        instrument = instruments.get(key)
        in_scales = {i for s in instrument.scales.values() for i in s.items}
        assert in_scales == set(instrument.scored_items), key
        assert not in_scales & set(instrument.unscored), key


def test_ceq_items_4_and_6_use_percentages():
    ceq = instruments.get("ceq")
    assert [ceq.item_range(i) for i in range(1, 7)] == [
        (1, 9), (1, 9), (1, 9), (0, 100), (1, 9), (0, 100)]
    assert ceq.range_of(4).step == 10
    assert ceq.range_of(1).step is None


def test_visual_analogue_scales_allow_decimals():
    assert instruments.get("ors").allows_decimals(1)
    assert instruments.get("srs").allows_decimals(4)
    assert not instruments.get("wai-sr").allows_decimals(1)


def test_urica_readiness_is_c_plus_a_plus_m_minus_pc():
    readiness = instruments.get("urica").scales["readiness"]
    assert readiness.rule == "composite"
    assert readiness.plus == ("contemplation", "action", "maintenance")
    assert readiness.minus == ("precontemplation",)


def test_gas_uses_rho_point_three():
    assert instruments.get("gas").scales["tscore"].rho == pytest.approx(0.3)


def test_published_figures_carry_sources_and_unverified_marks():
    ors = instruments.get("ors")
    assert ors.figure("clinical_cutoff").value == 25
    assert ors.figure("reliable_change").value == 5
    assert ors.figure("reliable_change").unverified  # from a secondary source
    assert instruments.get("srs").figure("concern_below").value == 36
    gse = instruments.get("gse")
    assert (gse.figure("alpha").low, gse.figure("alpha").high) == (0.76, 0.90)
    assert gse.figure("omega") is None
    for key in instruments.available():
        instrument = instruments.get(key)
        for section in (instrument.reliability, instrument.norms):
            for figures in section.values():
                for figure in figures.values():
                    assert figure.source.strip(), key


def test_gse_missing_rule_is_the_published_one():
    gse = instruments.get("gse")
    assert gse.min_answered == pytest.approx(0.7)
    assert gse.missing_rule != "default"
    assert instruments.get("wai-sr").missing_rule == "default"


def test_unknown_instrument_names_it_and_the_fix():
    with pytest.raises(DataError, match="'bdi-ii' is not known.*register"):
        instruments.get("bdi-ii")


def test_techniques_registry():
    table = instruments.techniques()
    assert list(table.columns) == ["code", "name", "family", "description"]
    assert set(table["code"]) == TECHNIQUES
    assert instruments.technique_codes() == frozenset(TECHNIQUES)
    assert table["description"].str.len().min() > 20
    table.loc[0, "code"] = "changed"  # a copy: the registry is unchanged
    assert "changed" not in instruments.technique_codes()


def test_user_file_loads_registers_and_is_cached(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(BASE)
    first = instruments.load(path)
    assert first.key == "test-scale" and first.reverse == (4,)
    assert first.scales["total"].reverse == (4,)
    assert instruments.load(str(path)) is first
    try:
        instruments.register(path)
        assert "test-scale" in instruments.available()
        assert instruments.get("test-scale") == first
        with pytest.raises(UsageError, match="already exists"):
            instruments.register(first)
        path.write_text(BASE.replace('name = "Test scale"', 'name = "Changed scale"'))
        changed = instruments.load(path)
        assert changed.name == "Changed scale"
        instruments.register(changed, replace=True)
        assert instruments.get("test-scale").name == "Changed scale"
    finally:
        instruments.unregister("test-scale")
    assert "test-scale" not in instruments.available()


def test_packaged_key_cannot_be_taken_silently():
    clash = instruments.parse_text(BASE.replace('"test-scale"', '"ors"'))
    with pytest.raises(UsageError, match="replace=True"):
        instruments.register(clash)


@pytest.mark.parametrize("change, field", [
    (('items = [1, 2, 3, 4]', 'items = [1, 2, 3, 9]'), "scales.total.items"),
    (('rule = "sum"', 'rule = "median"'), "scales.total.rule"),
    (('factor = "client"', 'factor = "luck"'), "factor"),
    (('max = 5', 'max = 1'), "response.max"),
    (('n_items = 4', 'n_items = 0'), "n_items"),
    (('reverse = [4]', 'reverse = [4]\nunscored = [4]'), "reverse"),
    (('alpha = { value = 0.8, source = "a test" }', 'alpha = { value = 0.8 }'),
     "reliability.total.alpha.source"),
    (('alpha = { value = 0.8, source = "a test" }', 'alpha = { value = 1.8, source = "x" }'),
     "reliability.total.alpha.value"),
    (('alpha = {', 'alfa = {'), "reliability.total.alfa"),
    (('citation = "Nobody (2024)."', 'citaton = "Nobody (2024)."'), "citaton"),
    (('[reliability.total]', '[reliability.bond]'), "reliability.bond"),
    (('key = "test-scale"', 'key = "Test Scale"'), "key"),
])
def test_a_bad_file_names_file_field_and_fix(tmp_path, change, field):
    path = tmp_path / "bad.toml"
    path.write_text(BASE.replace(*change))
    with pytest.raises(DataError) as raised:
        instruments.load(path)
    text = str(raised.value)
    assert str(path) in text
    assert f'field "{field}"' in text
    assert raised.value.fix


def test_composite_must_name_existing_scales():
    text = BASE + '\n[scales.both]\nrule = "composite"\nplus = ["total", "nothing"]\n'
    with pytest.raises(DataError, match='scales.both.plus.*nothing'):
        instruments.parse_text(text)


def test_invalid_toml_and_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("key = \n")
    with pytest.raises(DataError, match="not valid TOML"):
        instruments.load(path)
    with pytest.raises(DataError, match="does not exist"):
        instruments.load(tmp_path / "absent.toml")


def test_to_json_friendly_listing():
    rows = [{"key": k, "factor": instruments.get(k).factor} for k in instruments.available()]
    assert json.loads(json.dumps(rows))
    assert isinstance(instruments.techniques(), pd.DataFrame)


def test_every_packaged_instrument_has_aliases_and_no_two_share_a_name():
    owners: dict[str, str] = {}
    for key in instruments.available():
        instrument = instruments.get(key)
        assert instrument.aliases, f"{key} lists no other names"
        for name in (key, *instrument.aliases):
            assert owners.setdefault(spelling_key(name), key) == key, (name, key)
            assert instruments.key_for(name) == key
            assert instruments.key_for(name.upper().replace("-", "_")) == key


@pytest.mark.parametrize("name, key", [
    ("SRS", "srs"), ("WAI-SR", "wai-sr"), ("WAISR", "wai-sr"), ("Wai_SR", "wai-sr"),
    (" lot r ", "lot-r"), ("Outcome Rating Scale", "ors"), ("GENERAL SELF-EFFICACY", "gse"),
    ("bdi-ii", None), ("", None), (7, None), (None, None),
])
def test_key_for_finds_a_name_whatever_its_spelling(name, key):
    assert instruments.key_for(name) == key
    if key is not None:
        assert instruments.get(name).key == key


def test_a_user_instrument_is_found_by_its_aliases_and_may_not_take_anothers_name():
    mine = instruments.parse_text(BASE.replace('name = "Test scale"',
                                               'name = "Test scale"\naliases = ["My Scale"]'))
    assert mine.aliases == ("My Scale",)
    try:
        instruments.register(mine)
        assert instruments.key_for("MY-SCALE") == "test-scale"
        assert instruments.key_for("Test_Scale") == "test-scale"
    finally:
        instruments.unregister("test-scale")
    taken = instruments.parse_text(BASE.replace('name = "Test scale"',
                                                'name = "Test scale"\naliases = ["S.R.S", "Srs"]'))
    with pytest.raises(UsageError, match="'srs' already has"):
        instruments.register(taken)
    assert "test-scale" not in instruments.available()


def test_aliases_must_be_a_list_of_names():
    with pytest.raises(DataError, match='field "aliases"'):
        instruments.parse_text(BASE.replace('name = "Test scale"',
                                            'name = "Test scale"\naliases = "My Scale"'))
