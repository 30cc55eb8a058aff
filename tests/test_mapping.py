"""The mapping file: its schema, the checks made as it is read, and the messages they give.

The fixture mappings in tests/fixtures/exports are the worked examples of docs/mapping.md;
each must satisfy the published JSON Schema (checked with the jsonschema package, an
implementation independent of ours) and read without error.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from outcomes._errors import UsageError
from outcomes.mapping import FIELDS, parse_mapping, read_mapping
from outcomes.mapping._schema import schema
from outcomes.mapping.config import TABLE_FIELDS
from outcomes.schema import ALLOWED, COLUMNS

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
MAPPINGS = sorted(EXPORTS.rglob("*.toml"))
DOCS = Path(__file__).resolve().parents[1] / "docs" / "mapping.md"


def test_every_fixture_mapping_reads_and_satisfies_the_published_schema():
    jsonschema = pytest.importorskip("jsonschema")
    assert len(MAPPINGS) >= 6
    for path in MAPPINGS:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(data, schema())
        assert read_mapping(path).items, path


def test_schema_names_exactly_the_canonical_fields():
    properties = schema()["properties"]
    assert set(properties["columns"]["properties"]) == set(FIELDS)
    assert set(properties["constants"]["properties"]) == set(FIELDS)
    assert set(properties["recode"]["propertyNames"]["enum"]) == set(FIELDS)
    assert set(TABLE_FIELDS["keys"]) <= set(FIELDS)


#: The JSON type of a constant, by the kind of its canonical column.
JSON_TYPES = {"id": "string", "text": "string", "date": "string", "int": "integer",
              "float": "number", "bool": "boolean"}


def test_schema_file_agrees_with_the_table_models():
    properties = schema()["properties"]
    specs = {name: spec for columns in COLUMNS.values() for name, spec in columns.items()}
    for name, rule in properties["constants"]["properties"].items():
        assert rule["type"] == JSON_TYPES[specs[name].kind], name
        assert tuple(rule.get("enum", ())) == ALLOWED.get(name, ()), name
    block = properties["items"]["items"]["properties"]
    for name in ("occasion", "rater"):
        assert tuple(block[name]["enum"]) == ALLOWED[name]


def test_schema_file_is_strict_json():
    path = Path(__file__).resolve().parents[1] / "src/outcomes/mapping/mapping.schema.json"
    assert json.loads(path.read_text(encoding="utf-8"))["type"] == "object"


MINIMAL = {"columns": {"engagement_id": "id"},
           "items": [{"instrument": "ors", "columns": ["a", "b", "c", "d"]}]}


def _with(**changes: object) -> dict:
    data = json.loads(json.dumps(MINIMAL))
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[section] = value
    return data


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_with(source__formt="qualtrics"), '[source] formt: this key is not known. Did you mean '
                                           '"format"?'),
        (_with(source__format="spss"), '[source] format: "spss" is not allowed. Use one of: '
                                       '"qualtrics"'),
        (_with(constants__occasion="baseline"), "[constants] occasion"),
        (_with(columns__sesion="n"), 'Did you mean "session"?'),
        (_with(recode={"ocasion": {"T1": "intake"}}), "[recode.ocasion]: this name is not known"),
        (_with(recode={"occasion": {"T1": "start"}}), "[recode.occasion] T1: 'start' is not a "
                                                      "occasion"),
        (_with(items=[{"instrument": "ors"}]), "give exactly one of columns, pattern and "
                                               "question (found none of them)"),
        (_with(items=[{"instrument": "ors", "columns": ["a"], "pattern": "x{item}"}]),
         "found columns and pattern"),
        (_with(items=[{"instrument": "orz", "columns": ["a"]}]), "'orz' is not an instrument"),
        (_with(items=[{"instrument": "ors", "pattern": "ORS_{session}"}]), "has no {item}"),
        (_with(items=[{"instrument": "ors", "pattern": "ORS_{wave}_{item}"}]),
         "{wave} is not a placeholder"),
        (_with(items=[{"instrument": "ors", "columns": ["a", "b"], "items": [1]}]),
         "2 columns but 1 item numbers"),
        (_with(items=[{"instrument": "ors", "columns": ["a"], "items": [5]}]),
         "ors has no item 5"),
        (_with(items=[{"instrument": "ors", "columns": ["a"], "recode": {"1": 0}, "add": 1}]),
         "recode and add/multiply cannot be combined"),
        (_with(items=[{"instrument": "ors", "columns": ["a"], "recode": {"x": "high"}}]),
         "'high' is not a number"),
        (_with(constants={"engagement_id": "E1"}, columns={"engagement_id": "id"}),
         "engagement_id is in both"),
        (_with(columns={"occasion": "t"}), "nothing says which engagement a row belongs to"),
        (_with(columns={"engagement_id": "id", "sponsor": "S{session}"}),
         "only session fields"),
        (_with(version=2), "version: 2 is not allowed"),
        (_with(items={"instrument": "ors"}), "items: a table is not an array"),
        (_with(items=[{"columns": ["a"]}]), '[[items]] block 1: the key "instrument" is '
                                            "missing. Add instrument = ... here."),
        (_with(items=[{"instrument": "ors", "columns": ["a"], "items": [0]}]),
         "[[items]] block 1, items entry 1: 0 is too small. Use a number of at least 1."),
        (_with(source__name="my export"), '[source] name: "my export" is not a usable name'),
        (_with(source__sheet=1.5), "[source] sheet: 1.5 is not a string or an integer. Write "
                                   "a string or an integer here."),
        (_with(constants__session=0), "[constants] session: 0 is too small"),
        (_with(columns__engagement_id=3), "[columns] engagement_id: 3 is not a string"),
    ],
)
def test_a_bad_mapping_names_the_file_the_key_and_the_fix(data, says):
    with pytest.raises(UsageError) as caught:
        parse_mapping(data, file="study/mapping.toml")
    message = str(caught.value)
    assert message.startswith("study/mapping.toml, "), message
    assert says in message, message


def test_the_first_problem_in_the_file_is_named():
    data = {"columns": {"engagement_id": "id"}, "source": {"formt": "x", "format": "spss"}}
    with pytest.raises(UsageError, match=r"\[source\] formt: this key is not known"):
        parse_mapping(data, file="m.toml")
    data["source"] = {"format": "spss", "formt": "x"}
    with pytest.raises(UsageError, match=r'\[source\] format: "spss" is not allowed'):
        parse_mapping(data, file="m.toml")


def test_bad_toml_and_missing_file_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist.*--suggest"):
        read_mapping(tmp_path / "none.toml")
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nengagement_id = "id\n', encoding="utf-8")
    with pytest.raises(UsageError, match="m.toml: this is not valid TOML"):
        read_mapping(path)


def test_dictionary_is_resolved_against_the_mapping_file(tmp_path):
    path = tmp_path / "sub" / "m.toml"
    path.parent.mkdir()
    path.write_text('[source]\ndictionary = "dict.csv"\n[columns]\nengagement_id = "id"\n',
                    encoding="utf-8")
    assert read_mapping(path).dictionary == str(tmp_path / "sub" / "dict.csv")


def test_tables_follow_the_fields_mapped():
    assert parse_mapping(MINIMAL).tables() == ("responses",)
    both = _with(columns={"client_id": "c", "coach_id": "k", "years_experience": "y"})
    assert parse_mapping(both).tables() == ("engagements", "responses", "coaches")
    session = _with(columns__date="S{session}_date")
    assert parse_mapping(session).tables() == ("sessions", "responses")


def test_docs_show_every_key_of_the_schema():
    text = DOCS.read_text(encoding="utf-8")
    properties = schema()["properties"]
    keys = set(properties["source"]["properties"]) | set(
        properties["items"]["items"]["properties"]) | set(FIELDS)
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"docs/mapping.md does not describe: {missing}"


def test_every_complete_example_in_the_docs_reads():
    text = DOCS.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```toml\n")[1:]]
    examples = [b for b in blocks if "[[items]]" in b]
    assert len(examples) >= 5
    for example in examples:
        data = tomllib.loads(example)
        assert parse_mapping(data, file="docs/mapping.md").items
