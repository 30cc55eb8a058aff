"""Words for the names a table shows: columns, factors, model terms, titles."""

from __future__ import annotations

import re

__all__ = ["words", "term", "title_case", "ci_heading", "short_reference", "listing"]

_KNOWN = {
    "end_score": "end score", "n_techniques": "number of techniques", "r2": "R²",
    "icc": "ICC", "self_efficacy": "self-efficacy", "rci": "reliable change index",
    "ors": "ORS", "srs": "SRS",
    "wai-sr": "WAI-SR", "coach_id": "coach", "client_id": "client",
}
_SMALL = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to",
          "vs", "with"}


def words(name: object, *, capital: bool = True) -> str:
    """A column or factor name as words.

    Examples
    --------
    >>> words("social_support"), words("n_techniques"), words("end_score", capital=False)
    ('Social support', 'Number of techniques', 'end score')
    """
    text = str(name)
    text = _KNOWN.get(text, text.replace("_", " "))
    return text[:1].upper() + text[1:] if capital and not text[:2].isupper() else text


def term(name: str, centring: str = "within") -> str:
    """A fixed-effect term of a multilevel model, with its level in words.

    Examples
    --------
    >>> term("alliance_within"), term("alliance_between"), term("intercept")
    ('Alliance (within coach)', 'Alliance (coach mean)', 'Intercept')
    """
    if centring == "within":
        if name.endswith("_within"):
            return f"{words(name[:-7])} (within coach)"
        if name.endswith("_between"):
            return f"{words(name[:-8])} (coach mean)"
    return words(name)


def title_case(text: str) -> str:
    """APA title case: major words capitalised, minor words (three letters or fewer) not,
    unless first.

    Examples
    --------
    >>> title_case("each factor's share of the variance in end score")
    "Each Factor's Share of the Variance in End Score"
    """
    out = []
    for i, word in enumerate(text.split(" ")):
        if i and word.lower() in _SMALL:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def ci_heading(level: float) -> str:
    """The heading of an interval column, as APA writes it.

    Examples
    --------
    >>> ci_heading(0.95), ci_heading(0.9)
    ('95% CI', '90% CI')
    """
    return f"{round(100 * level, 1):g}% CI"


def short_reference(label: str) -> str:
    """A reference split's label without its numbers: "Asay & Lambert (1999)".

    Examples
    --------
    >>> short_reference("Asay & Lambert (1999): 40/30/15/15")
    'Asay & Lambert (1999)'
    """
    return re.split(r":\s", label, maxsplit=1)[0]


def listing(items: list[str]) -> str:
    """Items joined as a sentence lists them.

    Examples
    --------
    >>> listing(["a"]), listing(["a", "b"]), listing(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
