"""Where a report comes from: the package versions, the date, the reproducibility footer,
and the coach pseudonyms from the body's key (never a key that others can change, never one
inside the output folder)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import stat
from pathlib import Path
from typing import Any

from outcomes._errors import UsageError
from outcomes.privacy import pseudonyms, read_salt
from outcomes.reference import REFERENCES
from outcomes.study import Study

__all__ = ["package_versions", "made", "footer", "salted_names"]

_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "jinja2", "weasyprint")


def package_versions() -> list[tuple[str, str]]:
    """Python and the versions of the packages a report depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = [("python", platform.python_version())]
    for name in ("outcomes", *_PACKAGES):
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def footer(study: Study, options: Any, engine: str, command: str | None
            ) -> list[tuple[str, str]]:
    from outcomes.norms import input_digest

    source = Path(study.source or "")
    return [("Made", f"{made()} by outcomes"),
            ("Input", f"{source.name or 'in memory'} (SHA-256 of its files: "
                      f"{input_digest(study.source) or 'n/a'})"),
            ("Seed", str(options.seed)), ("Bootstrap replicates", str(options.n_boot)),
            ("Suppression threshold k", str(options.k)),
            ("Reference split", REFERENCES[options.reference].label),
            ("Coaches", "named" if options.coach_names else "pseudonymised (keyed hash)"),
            ("PDF", engine), ("Command", command or "build_report()"),
            ("Packages", ", ".join(f"{n} {v}" for n, v in package_versions()))]


def made() -> str:
    """The report's date: ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, as for
    reproducible builds, else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC).date().isoformat()
    return _dt.date.today().isoformat()


def salted_names(study: Study, options: Any, salt: bytes | None,
                  salt_file: str | Path | None, out: Path) -> dict[str, str]:
    coaches = study.valid("engagements")["coach_id"].astype(str).unique()
    if options.coach_names:
        return {c: c for c in coaches}
    if salt is None:
        path = Path(salt_file) if salt_file else Path.home() / ".outcomes" / "pseudonym.salt"
        if path.resolve().is_relative_to(out.resolve()):
            raise UsageError(f"the salt file {path} lies inside the output folder {out}; keep "
                             "it elsewhere, away from the report.")
        _check_salt_file(path)
        salt = read_salt(path)
    return pseudonyms(coaches, salt)


def _check_salt_file(path: Path) -> None:
    """Refuse a salt file that other users can change: whoever writes it sets the pseudonyms
    (and can make them match a list of guessed coach ids)."""
    if os.name != "posix" or not path.exists():
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(f"the salt file {path} can be written by other users "
                         f"({stat.filemode(mode)}); a key that others can change does not "
                         f"keep coaches private. Make it yours alone: chmod 600 {path}")
