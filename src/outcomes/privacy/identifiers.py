"""Pseudonyms for coaches and the search for identifiers in what is published.

Reports and norms files leave the body that holds the data, so no client or engagement
identifier may appear in them, and coaches are named only as the body decides:

- coaches are named by a keyed hash (HMAC-SHA256) of their id with a secret salt kept apart
  from the report, so that the same coach has the same pseudonym in every report made with
  that salt and nobody without the salt can test a guess (a bare hash of an id or an email
  address can be reversed by hashing the candidates);
- client and engagement identifiers are dropped, and a finished text can be searched for
  any of them before it is written.

Pseudonymised data stay personal data (GDPR Art. 4(5), Recital 26): the salt is the key.
Small-cell suppression of the numbers themselves is :mod:`outcomes.privacy.suppression`.

Examples
--------
>>> names = pseudonyms(["C001", "C002"], b"0" * 32)
>>> find_identifiers(f"{names['C001']} saw client E0001.", ["E0001", "C001"])
['E0001']
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from outcomes._errors import DataError, UsageError

__all__ = [
    "IDENTIFIER_COLUMNS", "read_salt", "pseudonym", "pseudonyms", "drop_identifiers",
    "find_identifiers", "check_no_identifiers",
]

IDENTIFIER_COLUMNS = ("client_id", "engagement_id")
_SALT_BYTES = 32


def read_salt(path: str | Path, *, create: bool = True) -> bytes:
    """The secret salt for pseudonyms, from a file kept apart from every report.

    The file holds 64 hexadecimal characters (32 random bytes). When it does not exist and
    ``create`` is true, a new salt is drawn from the operating system's secure random source
    and written with owner-only permissions. Keep it: the same salt gives the same pseudonyms
    in later reports, and whoever has it can test guesses of coach ids.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "coaches.salt"
    >>> read_salt(path) == read_salt(path)
    True
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise UsageError(f"the salt file {path} does not exist. Give the file used for "
                             "earlier reports, or let one be created.")
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(_SALT_BYTES) + "\n")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        salt = bytes.fromhex(text)
    except ValueError:
        raise DataError("is not a salt file (64 hexadecimal characters expected)",
                        file=str(path), fix="Give the salt file written by outcomes, or a "
                        "new path to have one created.") from None
    if len(salt) < 16:
        raise DataError(f"the salt has {len(salt)} bytes; at least 16 are needed",
                        file=str(path), fix="Give a new path to have a full salt created.")
    return salt


def pseudonym(identifier: Any, salt: bytes, *, prefix: str = "Coach", length: int = 6) -> str:
    """A stable pseudonym: ``prefix-`` and the first hex digits of HMAC-SHA256(salt, id).

    Examples
    --------
    >>> pseudonym("C001", b"0" * 32)
    'Coach-5932bf'
    """
    digest = hmac.new(salt, str(identifier).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:length]}"


def pseudonyms(identifiers: Iterable[Any], salt: bytes, *, prefix: str = "Coach"
               ) -> dict[str, str]:
    """Pseudonyms of several ids, lengthened together until no two coincide.

    Examples
    --------
    >>> names = pseudonyms(["C001", "C002"], b"0" * 32)
    >>> sorted(names) , len(set(names.values()))
    (['C001', 'C002'], 2)
    """
    ids = sorted({str(i) for i in identifiers})
    for length in range(6, 65, 2):
        names = {i: pseudonym(i, salt, prefix=prefix, length=length) for i in ids}
        if len(set(names.values())) == len(ids):
            return names
    raise UsageError("two coach ids are identical once read as text.")  # pragma: no cover


def drop_identifiers(frame: pd.DataFrame, columns: Iterable[str] = IDENTIFIER_COLUMNS
                     ) -> pd.DataFrame:
    """A copy of ``frame`` without client and engagement identifier columns."""
    return frame.drop(columns=[c for c in columns if c in frame.columns])


def _checkable(identifier: str) -> bool:
    return len(identifier) >= 3 and not identifier.replace(".", "").isdigit()


def find_identifiers(text: str, identifiers: Iterable[Any]) -> list[str]:
    """The identifiers that occur in ``text`` as whole words.

    Ids of fewer than three characters and purely numeric ids cannot be told apart from
    ordinary numbers and are not searched for (see :func:`check_no_identifiers`).

    Examples
    --------
    >>> find_identifiers("Coach C001 saw E0001.", ["E0001", "E0002", "12"])
    ['E0001']
    """
    ids = sorted({str(i) for i in identifiers if i is not None and not pd.isna(i)})
    wanted = [i for i in ids if _checkable(i)]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, chunk)) + r")(?![\w-])")
        found.update(pattern.findall(text))
    return sorted(found)


def check_no_identifiers(text: str, identifiers: Mapping[str, Iterable[Any]], *,
                         where: str) -> None:
    """Refuse a text that contains any of the identifiers (by kind, e.g. ``client_id``)."""
    for kind, ids in identifiers.items():
        found = find_identifiers(text, ids)
        if found:
            raise UsageError(
                f"{where} would show the {kind} {found[0]!r}"
                + (f" and {len(found) - 1} more" if len(found) > 1 else "")
                + "; nothing was written. Remove identifiers from the title, the "
                "configuration and any column or instrument names, and try again.")
