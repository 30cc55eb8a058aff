"""The report's settings file (``outcomes report --config FILE``), read and checked.

Every setting is checked for its kind and range before any work starts, so a hostile or
mistyped value (``seed = "x"``, ``n_boot = 1e9``, ``k = -3``, ``coach_names = "no"``)
ends at once with exit 2 and a message naming the file, the setting and what it may be.
"""

from __future__ import annotations

import tomllib
from numbers import Integral
from typing import Any

from outcomes._errors import UsageError
from outcomes.norms import MAX_N_BOOT

__all__ = ["SETTINGS", "read_report_config"]

#: Each setting and what it may be: a kind, and for whole numbers the allowed range.
SETTINGS: dict[str, tuple[str, int | None, int | None]] = {
    "title": ("text", None, None), "subtitle": ("text", None, None),
    "reference": ("text", None, None), "outcome": ("text", None, None),
    "salt_file": ("text", None, None),
    "k": ("whole", 3, 1_000), "seed": ("whole", 0, 2 ** 63 - 1),
    "n_boot": ("whole", 0, MAX_N_BOOT),
    "coach_names": ("flag", None, None), "round_counts": ("flag", None, None),
    "pdf": ("flag", None, None),
    "covariates": ("names", None, None), "factors": ("groups", None, None),
}
#: Older names of settings, still read.
OLD_NAMES = {"boot": "n_boot"}

_SAY = {"text": "text in quotes, e.g. \"Annual report\"", "flag": "true or false",
        "names": "a list of column names, e.g. [\"baseline\"]",
        "groups": "a table of factor names to lists of columns, e.g. "
                  "[factors] relationship = [\"alliance\"]"}


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check(file: str, key: str, value: Any) -> None:
    kind, low, high = SETTINGS[key]
    if kind == "whole":
        whole = isinstance(value, Integral) and not isinstance(value, bool)
        if not whole or not low <= value <= high:  # type: ignore[operator]
            raise UsageError(f"{file}: setting {key} = {value!r} must be a whole number from "
                             f"{low:,} to {high:,}.")
        return
    fits = {"text": isinstance(value, str), "flag": isinstance(value, bool),
            "names": _is_names(value),
            "groups": isinstance(value, dict) and bool(value)
            and all(_is_names(v) and v for v in value.values())}[kind]
    if not fits:
        raise UsageError(f"{file}: setting {key} = {str(value)[:40]!r} must be {_SAY[kind]}.")


def read_report_config(path: str | None) -> dict[str, Any]:
    """The settings of a report config file (or of its ``[report]`` table), checked.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "report.toml"
    >>> _ = p.write_text('title = "Annual"\\nboot = 500\\n', encoding="utf-8")
    >>> read_report_config(str(p))
    {'title': 'Annual', 'n_boot': 500}
    >>> _ = p.write_text('n_boot = 1e9\\n', encoding="utf-8")
    >>> read_report_config(str(p))
    Traceback (most recent call last):
    ...
    outcomes._errors.UsageError: ...: setting n_boot = 1000000000.0 must be a whole number ...
    """
    if not path:
        return {}
    from outcomes.io import read_toml

    try:
        config = read_toml(path)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: is not valid TOML ({error}). Check the quoting and "
                         "brackets near that line.") from None
    config = config.get("report", config)
    if not isinstance(config, dict):
        raise UsageError(f"{path}: [report] must be a table of settings.")
    for old, new in OLD_NAMES.items():
        if old in config and new in config:
            raise UsageError(f"{path}: both {new!r} and its older name {old!r} are set; keep "
                             f"{new} only.")
        if old in config:
            config[new] = config.pop(old)
    unknown = sorted(set(config) - set(SETTINGS))
    if unknown:
        raise UsageError(f"{path}: unknown setting {unknown[0]!r}. Use only: "
                         f"{', '.join(sorted(SETTINGS))}.")
    for key, value in config.items():
        _check(path, key, value)
    return config
