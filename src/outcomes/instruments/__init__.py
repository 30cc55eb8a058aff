"""The instrument registry: questionnaires described as data, one TOML file each.

Each packaged file (``wai-sr.toml``, ``ors.toml``, ...) gives an instrument's items,
response range, subscales, reverse-keyed and unscored items, scoring rule, missing-item
rule, published reliability and change norms (each with its source), citation and licence
note. No item wording ships. ``techniques.toml`` holds the technique registry that
``sessions.techniques`` codes come from.

Add your own questionnaire by writing a file laid out like the packaged ones and calling
:func:`register` with its path; :func:`load` reads a file without registering it.

A name is found whatever its spelling: case, spaces, ``-`` and ``_`` are ignored
(:func:`outcomes.schema.spelling_key`), and each file lists the instrument's other names
under ``aliases``. :func:`key_for` gives the key of any such name.

Examples
--------
>>> from outcomes import instruments
>>> "wai-sr" in instruments.available()
True
>>> wai = instruments.get("wai-sr")
>>> wai.factor, wai.n_items, wai.scales["task"].items
('relationship', 12, (1, 2, 10, 12))
>>> "grow" in instruments.technique_codes()
True
>>> instruments.key_for("WAI_SR"), instruments.key_for("Session Rating Scale")
('wai-sr', 'srs')
"""

from __future__ import annotations

import functools
import os
import tomllib
from importlib import resources

import pandas as pd

from outcomes._errors import DataError, UsageError
from outcomes.instruments._model import (
    FACTORS,
    NORM_KINDS,
    RATERS,
    RELIABILITY_KINDS,
    RULES,
    Instrument,
    ItemRange,
    Published,
    Scale,
)
from outcomes.instruments._parse import parse_file, parse_mapping, parse_text
from outcomes.schema import spelling_key

__all__ = [
    "Instrument", "Scale", "ItemRange", "Published",
    "FACTORS", "RULES", "RATERS", "RELIABILITY_KINDS", "NORM_KINDS",
    "get", "available", "key_for", "known_names", "load", "register", "unregister", "parse_text",
    "techniques", "technique_codes",
]

_TECHNIQUES = "techniques.toml"
_REGISTERED: dict[str, Instrument] = {}


@functools.cache
def _packaged() -> dict[str, str]:
    """Packaged instrument files, by the key in their name."""
    root = resources.files(__name__)
    return {
        entry.name[: -len(".toml")]: entry.name
        for entry in root.iterdir()
        if entry.name.endswith(".toml") and entry.name != _TECHNIQUES
    }


@functools.cache
def _builtin(key: str) -> Instrument:
    name = _packaged()[key]
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"is not valid TOML ({error})", file=name,
                        fix="Correct the packaged file.") from None
    instrument = parse_mapping(data, file=name)
    if instrument.key != key:
        raise DataError(f'field "key": {instrument.key!r} does not match the file name',
                        file=name, fix=f"Set key = {key!r}.")
    return instrument


def available() -> list[str]:
    """The keys of all instruments: packaged ones and those registered this session.

    Examples
    --------
    >>> from outcomes import instruments
    >>> instruments.available()[:3]
    ['ahs', 'ceq', 'gas']
    """
    return sorted(set(_packaged()) | set(_REGISTERED))


def _names(instrument: Instrument) -> set[str]:
    return {spelling_key(name) for name in (instrument.key, *instrument.aliases)}


@functools.cache
def _packaged_names() -> dict[str, str]:
    """The key of each packaged instrument, by the spelling key of its key and aliases."""
    found: dict[str, str] = {}
    for key in sorted(_packaged()):
        for name in _names(_builtin(key)):
            other = found.setdefault(name, key)
            if other != key:
                raise DataError(f"{key} and {other} share the name {name!r}",
                                file=_packaged()[key], fix="Give each alias to one instrument.")
    return found


def known_names() -> dict[str, str]:
    """Every accepted name of every instrument, as its spelling key, with the instrument's key.

    Examples
    --------
    >>> from outcomes import instruments
    >>> instruments.known_names()["sessionratingscale"]
    'srs'
    """
    found = dict(_packaged_names())
    for key, instrument in _REGISTERED.items():
        found.update(dict.fromkeys(_names(instrument), key))
    return found


def key_for(name: object) -> str | None:
    """The registry key of an instrument named ``name``, or None when none has that name.

    ``name`` may be the key or one of the instrument's ``aliases``, in any case and with or
    without spaces, ``-`` and ``_``. Registered instruments come first.

    Examples
    --------
    >>> from outcomes import instruments
    >>> instruments.key_for("SRS"), instruments.key_for(" Lot_R "), instruments.key_for("bdi")
    ('srs', 'lot-r', None)
    """
    if not isinstance(name, str):
        return None
    if name in _REGISTERED or name in _packaged():
        return name
    return known_names().get(spelling_key(name))


def get(key: str | Instrument) -> Instrument:
    """The instrument with key ``key`` (or an alias, spelt in any case; see :func:`key_for`).

    Registered instruments come first, then packaged ones.

    Raises
    ------
    DataError
        When no instrument has that key.

    Examples
    --------
    >>> from outcomes import instruments
    >>> instruments.get("gse").scales["total"].rule
    'sum'
    """
    if isinstance(key, Instrument):
        return key
    found = key_for(key)
    if found in _REGISTERED:
        return _REGISTERED[found]
    if found is not None:
        return _builtin(found)
    raise DataError(
        f"instrument {key!r} is not known",
        column="instrument",
        fix=(f"Use one of: {', '.join(available())}; or describe it in an instrument file "
             "and add it with outcomes.instruments.register(path)."),
    )


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int, size: int) -> Instrument:
    return parse_file(path)


def load(path: str | os.PathLike[str]) -> Instrument:
    """Read an instrument file of your own (TOML, laid out as the packaged files).

    The file is checked as it is read; a problem names the file, the field and the fix.
    Files are cached until they change on disk. The instrument is not registered: pass it
    to :func:`register` to make :func:`get` and scoring find it.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Instrument
    """
    path = os.path.abspath(os.fspath(path))
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise DataError("the instrument file does not exist", file=path,
                        fix="Check the path.") from None
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


def register(instrument: Instrument | str | os.PathLike[str], *,
             replace: bool = False) -> Instrument:
    """Make an instrument known to :func:`get` and to scoring.

    Parameters
    ----------
    instrument : Instrument or path
        An :class:`Instrument`, or the path of an instrument file.
    replace : bool, default False
        Allow replacing an instrument with the same key (a packaged one included).

    Returns
    -------
    Instrument
        The registered instrument.

    Examples
    --------
    >>> from outcomes import instruments
    >>> mine = instruments.parse_text('''
    ... key = "my-scale"
    ... name = "My scale"
    ... citation = "Unpublished."
    ... licence = "Ours."
    ... factor = "client"
    ... n_items = 3
    ... [response]
    ... min = 1
    ... max = 5
    ... [scales.total]
    ... items = [1, 2, 3]
    ... rule = "sum"
    ... ''')
    >>> instruments.register(mine).key
    'my-scale'
    >>> instruments.unregister("my-scale")
    """
    if not isinstance(instrument, Instrument):
        instrument = load(instrument)
    known = instrument.key in _REGISTERED or instrument.key in _packaged()
    if known and not replace:
        raise UsageError(
            f"an instrument with key {instrument.key!r} already exists; give yours another "
            "key, or pass replace=True to use yours in its place"
        )
    for name in sorted(_names(instrument)):
        other = key_for(name)
        if other is not None and other != instrument.key:
            raise UsageError(
                f"the instrument {instrument.key!r} has a name that {other!r} already has "
                f"({name!r}, ignoring case, spaces, '-' and '_'); give it another key or "
                "remove the alias"
            )
    _REGISTERED[instrument.key] = instrument
    return instrument


def unregister(key: str) -> None:
    """Forget an instrument added with :func:`register` (packaged ones stay)."""
    _REGISTERED.pop(key, None)


@functools.lru_cache(maxsize=1)
def _technique_table() -> pd.DataFrame:
    text = resources.files(__name__).joinpath(_TECHNIQUES).read_text(encoding="utf-8")
    rows = tomllib.loads(text).get("technique", [])
    columns = ["code", "name", "family", "description"]
    for number, row in enumerate(rows, start=1):
        missing = [c for c in columns if not isinstance(row.get(c), str)]
        if missing:
            raise DataError(f'field "technique[{number}].{missing[0]}" is missing',
                            file=_TECHNIQUES, fix="Give every technique all four fields.")
    table = pd.DataFrame(rows, columns=columns).astype("string")
    if table["code"].duplicated().any():
        code = table.loc[table["code"].duplicated(), "code"].iloc[0]
        raise DataError(f"technique code {code!r} appears twice", file=_TECHNIQUES,
                        fix="Give each technique its own code.")
    return table


def techniques() -> pd.DataFrame:
    """The technique registry: one row per code, with name, family and description.

    Examples
    --------
    >>> from outcomes import instruments
    >>> list(instruments.techniques().columns)
    ['code', 'name', 'family', 'description']
    """
    return _technique_table().copy()


def technique_codes() -> frozenset[str]:
    """The codes that ``sessions.techniques`` may use.

    Examples
    --------
    >>> from outcomes import instruments
    >>> sorted(instruments.technique_codes())[:2]
    ['appreciative-inquiry', 'cognitive-behavioural']
    """
    return frozenset(_technique_table()["code"].tolist())
