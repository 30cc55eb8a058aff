"""A first draft of a mapping file, from what an export looks like.

:func:`suggest_mapping` reads an export, groups its item columns into blocks (a Qualtrics
question, a SurveyMonkey question, a REDCap matrix group, or columns that share a name and
differ by a number, such as ``ORS_s1_1 ... ORS_s6_4``), and recognises an instrument in a
block by its **item count** (the registry's ``n_items``), its **name** (the block's id,
column names and question text, matched against names such as "Working Alliance", "WAI",
"Hope", "LOT") and its **values** (the answers seen, or the dictionary's codes, against the
instrument's range, which also suggests ``add`` or ``multiply``). It guesses the id, date and
REDCap event columns. The draft says in comments what it recognised and why, and what it
could not place: it is for the user to read and correct, not to trust.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from outcomes import instruments as _instruments
from outcomes.mapping._draft import by_label, engagement_lines, filled, find
from outcomes.mapping._draft import toml_text as _q
from outcomes.mapping._prepared import Prepared
from outcomes.mapping.sources import read_export

__all__ = ["suggest_mapping", "recognise", "KEYWORDS"]

#: Names that point to an instrument, searched in block ids, column names and question text.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "ors": ("ors", "outcome rating"),
    "srs": ("srs", "session rating"),
    "wai-sr": ("wai", "wai-sr", "working alliance", "alliance"),
    "ahs": ("ahs", "hope"),
    "lot-r": ("lot", "lot-r", "lotr", "life orientation", "optimism"),
    "mspss": ("mspss", "social support"),
    "gse": ("gse", "self-efficacy", "self efficacy"),
    "ceq": ("ceq", "credibility", "expectancy"),
    "urica": ("urica", "readiness", "change assessment"),
    "gas": ("gas", "goal attainment"),
}

_OCCASION_WORDS = (("intake", ("baseline", "intake", "enrol", "screen", "pre", "t1")),
                   ("end", ("end", "final", "exit", "clos", "post", "t2")),
                   ("followup", ("follow",)),
                   ("session", ("session", "visit", "week")))


@dataclass
class Block:
    """A group of item-like columns found in the export."""

    key: str  # how the mapping names it: a question id/text, or a pattern
    kind: str  # "question" or "pattern"
    columns: list[str]
    text: str = ""
    instrument: str | None = None
    reason: str = ""
    others: list[str] = field(default_factory=list)
    add: float = 0.0
    multiply: float = 1.0
    recode: dict[str, float] = field(default_factory=dict)
    n_items: int = 0


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text.lower()) is not None


def _compact(text: str) -> str:
    """A name without case, spaces, ``-``, ``_`` or trailing numbers: WAI_SR_3 -> waisr."""
    return re.sub(r"\d+$", "", re.sub(r"[\s_-]+", "", text).casefold())


def _own_name(names: list[str], key: str) -> bool:
    """Whether a block is named after the instrument itself (``WAISR``, ``wai_sr``,
    ``Session-Rating``): its key, an alias or a keyword, written in any case and with or
    without spaces, ``-`` and ``_``."""
    instrument = _instruments.get(key)
    wanted = {_compact(w) for w in (key, *KEYWORDS.get(key, ()),
                                    *getattr(instrument, "aliases", ()))}
    wanted.discard("")
    tokens = {_compact(t) for name in names
              for t in re.findall(r"[a-z0-9][a-z0-9 _-]*", name.casefold())}
    return bool(wanted & tokens)


def _numbers(prepared: Prepared, columns: list[str]) -> pd.Series:
    ranges = [prepared.ranges[c] for c in columns if c in prepared.ranges]
    if ranges:
        return pd.Series([v for pair in ranges for v in pair], dtype=float)
    cells = prepared.data[columns].stack() if columns else pd.Series(dtype=object)
    return pd.to_numeric(cells, errors="coerce").dropna().astype(float)


def _labels(prepared: Prepared, columns: list[str]) -> dict[str, float]:
    """Choice texts that start or end with a number: "8 = true" -> 8."""
    cells = prepared.data[columns].stack() if columns else pd.Series(dtype=object)
    texts = {v for v in cells if isinstance(v, str) and pd.isna(pd.to_numeric(v, errors="coerce"))}
    out = {}
    for text in sorted(texts):
        found = re.match(r"^\s*(-?\d+(?:\.\d+)?)\b", text) or re.search(r"(-?\d+(?:\.\d+)?)\s*$",
                                                                         text)
        if found:
            out[text] = float(found.group(1))
    return out


def recognise(block: Block, prepared: Prepared) -> None:
    """Name the block's instrument (or leave it None) and how its values fit the range."""
    count = block.n_items or len(block.columns)
    text = " ".join([block.key, block.text, *block.columns[:2]])
    block.recode = _labels(prepared, block.columns)
    values = pd.concat([_numbers(prepared, block.columns),
                        pd.Series(list(block.recode.values()), dtype=float)])
    scored = []
    for key in _instruments.available():
        instrument = _instruments.get(key)
        if instrument.n_items != count or key == "gas":
            continue
        named = any(_mentions(text, word) for word in KEYWORDS.get(key, (key,))) or _own_name(
            [block.key, block.text, *block.columns[:2]], key)
        fit = _fit(values, instrument.response.min, instrument.response.max)
        if fit is None and not named:
            continue
        scored.append((2 * named + (fit is not None and fit == (0.0, 1.0)), key, named, fit))
    if not scored:
        return
    scored.sort(key=lambda s: -s[0])
    best, key, named, fit = scored[0]
    block.instrument = key
    block.others = [s[1] for s in scored[1:] if s[0] == best or not named]
    if fit is not None:
        block.add, block.multiply = fit[0], fit[1]
    seen = f"values {values.min():g} to {values.max():g}" if len(values) else "no values yet"
    why = [f"{count} items"] + (["its name"] if named else []) + [seen]
    block.reason = ", ".join(why)


def _fit(values: pd.Series, low: float, high: float) -> tuple[float, float] | None:
    """(add, multiply) that put the values in [low, high], or None when none does."""
    if not len(values):
        return None
    seen_low, seen_high = float(values.min()), float(values.max())
    for add, multiply in ((0.0, 1.0), (-1.0, 1.0), (1.0, 1.0), (0.0, 0.1)):
        if seen_low * multiply + add >= low and seen_high * multiply + add <= high:
            if (add, multiply) == (0.0, 0.1) and seen_high <= high:
                continue
            return (add, multiply)
    return None


def _question_blocks(prepared: Prepared) -> list[Block]:
    blocks: list[Block] = []
    taken: set[str] = set()
    for key, pairs in prepared.questions.items():
        columns = [c for c, _ in pairs]
        if len(columns) < 2 or taken & set(columns) or set(columns) & set(prepared.personal):
            continue
        taken |= set(columns)
        text = prepared.labels.get(columns[0], "").split(" - ")[0]
        blocks.append(Block(key, "question", columns, text))
    return blocks


def _pattern_blocks(prepared: Prepared, taken: set[str]) -> list[Block]:
    """Columns such as ORS_s1_1 ... ORS_s3_4 or wai_1 ... wai_12, as patterns."""
    groups: dict[str, list[str]] = {}
    if prepared.source not in ("redcap", "wide"):
        return []
    boxes = {c for group in prepared.checkboxes.values() for c in group.values()}
    skip = taken | set(prepared.personal) | boxes | set(prepared.consulted)
    for column in prepared.data.columns:
        found = re.fullmatch(r"(.*?\D)(\d+)", str(column))
        if column in skip or not found:
            continue
        shape = re.sub(r"\d+", "#", found.group(1)) + "{item}"
        groups.setdefault(shape, []).append(str(column))
    blocks = []
    for shape, columns in groups.items():
        items = {int(re.fullmatch(r".*?(\d+)", c).group(1)) for c in columns}  # type: ignore[union-attr]
        if len(items) < 2:
            continue
        pattern = _placeholders(shape, columns)
        if pattern is None:
            continue
        text = prepared.labels.get(columns[0], "")
        blocks.append(Block(pattern, "pattern", columns, text, n_items=len(items)))
    return blocks


def _placeholders(shape: str, columns: list[str]) -> str | None:
    """Turn each '#' of a shape into its number (when fixed), {session} or {occasion}.

    Examples
    --------
    >>> _placeholders("ORS_s#_{item}", ["ORS_s1_1", "ORS_s2_1"])
    'ORS_s{session}_{item}'
    >>> _placeholders("T#_LOT_{item}", ["T1_LOT_1", "T2_LOT_1"])
    '{occasion}_LOT_{item}'
    >>> _placeholders("wai#_{item}", ["wai2_1", "wai2_2"])
    'wai2_{item}'
    """
    regex = re.escape(shape).replace("\\#", r"(\d+)").replace(r"\{item\}", r"\d+")
    seen = [m.groups() for m in (re.fullmatch(regex, c) for c in columns) if m]
    out = ""
    rest = shape
    for position in range(shape.count("#")):
        before, rest = rest.split("#", 1)
        values = {s[position] for s in seen}
        letter = re.search(r"(?i)(time|wave|t|w)$", before)
        if len(values) == 1:
            out += before + values.pop()
        elif letter and "{occasion}" not in out:
            out += before[: letter.start()] + "{occasion}"
        elif "{session}" not in out:
            out += before + "{session}"
        else:
            return None
    return out + rest


def _k(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _q(text)


def _sibling_dictionary(file: str) -> str | None:
    """A REDCap data dictionary saved beside the export, if there is one."""
    folder = Path(file).parent
    for path in sorted(folder.glob("*.csv")):
        if path.resolve() == Path(file).resolve():
            continue
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline()
        if first.lstrip('"').startswith(("Variable / Field Name", "field_name")):
            return str(path)
    return None



def _techniques(prepared: Prepared) -> tuple[str | None, list[str]]:
    """A checkbox field whose choices name registry techniques, as TOML lines."""
    names = _instruments.techniques()
    for name, boxes in prepared.checkboxes.items():
        lines, found = [], 0
        for code, column in boxes.items():
            label = prepared.labels.get(column, code).split(" - ")[-1].strip().lower()
            match = [c for c, n in zip(names["code"], names["name"], strict=True)
                     if c in label or label in (c, str(n).lower())]
            if match:
                found += 1
                lines.append(f"{_q(code)} = {_q(match[0])}   # check: {label}")
            else:
                lines.append(f'# {_q(code)} = ""   # not a registry technique: {label}')
        if found:
            return name, lines
    return None, []


def _guess(prepared: Prepared) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Columns for the key fields, and recode tables for them (REDCap events)."""
    columns: dict[str, str] = {}
    first = str(prepared.data.columns[0]) if len(prepared.data.columns) else None
    engagement = (
        next((prepared.resolve(a) for a in ("ExternalReference", "ExternalDataReference")
              if filled(prepared, prepared.resolve(a))), None)
        or find(prepared, (r"(engagement|record)[ _]?(id|code)?", r"custom data 1", r"id"))
        or by_label(prepared, r"engagement|client code|participant code")
        or (first if prepared.source in ("redcap", "wide") else None))
    if engagement:
        columns["engagement_id"] = engagement
    for name, patterns in (("client_id", (r"(client|participant|coachee)[ _]?(id|code)?",)),
                           ("coach_id", (r"coach[ _]?(id|code)?",))):
        found = find(prepared, patterns)
        if found and found != engagement:
            columns[name] = found
    recode: dict[str, dict[str, str]] = {}
    if filled(prepared, "redcap_event_name"):
        columns["occasion"] = "redcap_event_name"
        events = prepared.data["redcap_event_name"].dropna().unique()
        recode["occasion"] = {str(e): _occasion_of(str(e)) for e in events}
    if filled(prepared, "redcap_repeat_instance"):
        columns["session"] = "redcap_repeat_instance"
    return columns, recode


def _occasion_of(event: str) -> str:
    low = event.lower()
    for occasion, words in _OCCASION_WORDS:
        if any(w in low for w in words):
            return occasion
    return "session"


def suggest_mapping(path: str | os.PathLike[str], *, source: str | None = None,
                    dictionary: str | None = None) -> str:
    """Write a first draft of a mapping file for an export, as TOML text.

    Parameters
    ----------
    path : str or path-like
        The export.
    source : {"qualtrics", "qualtrics-legacy", "redcap", "surveymonkey", "wide"}, optional
        The layout; detected from the file by default.
    dictionary : str, optional
        A REDCap data dictionary; by default one saved beside the export is used.

    Returns
    -------
    str
        The draft mapping. It reads as a valid mapping file, with comments saying what was
        recognised and why, and what to check.

    Examples
    --------
    >>> import pathlib, tempfile, tomllib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "wide.csv"
    >>> head = ["client_id"] + [f"WAI_{i}" for i in range(1, 13)]
    >>> _ = p.write_text(",".join(head) + "\\n" + ",".join(["P1"] + ["4"] * 12) + "\\n")
    >>> draft = tomllib.loads(suggest_mapping(p))
    >>> draft["items"][0]["instrument"], draft["items"][0]["pattern"]
    ('wai-sr', 'WAI_{item}')
    """
    file = os.fspath(path)
    prepared = read_export(file, source=source, dictionary=dictionary)
    if prepared.source == "redcap" and dictionary is None:
        dictionary = _sibling_dictionary(file)
        if dictionary is not None:
            prepared = read_export(file, source="redcap", dictionary=dictionary)
    blocks = _question_blocks(prepared)
    blocks += _pattern_blocks(prepared, {c for b in blocks for c in b.columns})
    for block in blocks:
        recognise(block, prepared)
    columns, recode = _guess(prepared)
    field, lines = _techniques(prepared)
    if field is not None:
        columns["techniques"] = field
    found, engagement = engagement_lines(
        prepared, set(columns.values()) | {c for b in blocks for c in b.columns})
    columns.update(found)
    return _emit(prepared, blocks, columns, recode, dictionary, lines, engagement)


def _emit(prepared: Prepared, blocks: list[Block], columns: dict[str, str],
          recode: dict[str, dict[str, str]], dictionary: str | None,
          techniques: list[str], engagement: list[str]) -> str:
    if not any(block.instrument for block in blocks):  # no item blocks: nothing to place
        for name in ("occasion", "rater", "session"):
            if name != "session" or "techniques" not in columns:
                columns.pop(name, None)
                recode.pop(name, None)
    lines = [
        f"# A first draft of a mapping for {Path(prepared.file).name}, written by",
        "# `outcomes map EXPORT --suggest`. Check every line marked 'check', correct what is",
        "# wrong, then run: outcomes map EXPORT --mapping THIS_FILE --out STUDY_FOLDER",
        f"# {len(prepared.data)} records; layout {prepared.source}. See docs/mapping.md.",
        "version = 1", "", "[source]", f"format = {_q(prepared.source)}"]
    if dictionary:
        lines.append(f"dictionary = {_q(os.path.relpath(dictionary, Path(prepared.file).parent))}"
                     "   # check: relative to where you save this file")
    if prepared.personal:
        lines.append("# dropped at ingest as personal data: " + ", ".join(prepared.personal))
    lines += ["", "[columns]"]
    if "engagement_id" not in columns:
        lines.append("# check: no column looked like the engagement id; name it here")
        columns["engagement_id"] = str(prepared.data.columns[0])
    if "coach_id" in columns and "client_id" not in columns:  # coach_id lives in engagements
        columns["client_id"] = columns["engagement_id"]
    for name, column in columns.items():
        lines.append(f"{name} = {_q(column)}   # check")
    lines += engagement
    if "occasion" not in columns and any(block.instrument for block in blocks):
        lines += ["", "[constants]", 'occasion = "intake"   # check: when was this survey given? '
                  "(intake, session, end, followup)"]
    for name, table in recode.items():
        lines += ["", f"[recode.{name}]"]
        lines += [f"{_k(k)} = {_q(v)}   # check" for k, v in table.items()]
    if techniques:
        lines += ["", "[recode.techniques]", *techniques]
    for block in blocks:
        lines += ["", *_block_lines(block)]
    return "\n".join(lines) + "\n"


def _block_lines(block: Block) -> list[str]:
    way = "question" if block.kind == "question" else "pattern"
    if block.instrument is None:
        if len(block.columns) < 3:
            return []
        return ["# Not recognised; if it is an instrument, fill in its key and uncomment:",
                "# [[items]]", '# instrument = "?"',
                f"# {way} = {_q(block.key)}   # {len(block.columns)} columns"
                + (f": {block.text[:60]}" if block.text else "")]
    also = f"; could also be: {', '.join(block.others)}" if block.others else ""
    said = f"   # {block.text[:60]}" if block.text and block.text != block.key else ""
    out = ["[[items]]", f"instrument = {_q(block.instrument)}   # recognised by {block.reason}"
           f"{also}", f"{way} = {_q(block.key)}{said}"]
    if "{occasion}" in block.key:
        out.append("# check: add [recode.occasion] for the occasion part of the names, "
                   'e.g. T1 = "intake", T2 = "end"')
    elif "{session}" in block.key:
        out.append('occasion = "session"')
    if block.recode:
        pairs = ", ".join(f"{_q(k)} = {v:g}" for k, v in block.recode.items())
        out.append(f"recode = {{ {pairs} }}   # check")
    else:
        if block.add:
            out.append(f"add = {block.add:g}   # check: the export's codes are shifted")
        if block.multiply != 1.0:
            out.append(f"multiply = {block.multiply:g}   # check: the export uses a wider scale")
    return out
