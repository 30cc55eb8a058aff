"""Private temporary folders, uploaded files and zips, within the toolkit's reading limits.

Every request or job that receives files works in its own folder, made with the rights of
its owner only (``0700``) under the server's temporary root, and removed when the response
(or the job's download) is done. A folder's name carries its kind and a random id; nothing
else about it is kept anywhere.

A zip is checked entry by entry before anything is written: a name that climbs out of the
folder (``../``), starts at the root or a drive, or is a link is refused, and so is a zip
beyond the reading limits of :mod:`outcomes.io` (an entry larger than ``file_bytes``, a
total beyond ``workbook_bytes``, an entry, or the whole zip, that decompresses more than
``zip_ratio`` times).

Examples
--------
>>> safe_name("../../etc/passwd"), safe_name("my practice (1).xlsx"), safe_name("", "x.csv")
('passwd', 'my practice (1).xlsx', 'x.csv')
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from outcomes._errors import DataError
from outcomes.io import LimitError, limits, shorten

__all__ = ["new_folder", "find_folder", "remove", "sweep", "safe_name", "save_upload",
           "extract_zip", "study_root", "ID_PATTERN"]

#: A folder id: 22 URL-safe characters (128 random bits).
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
_NAME = re.compile(r"[^A-Za-z0-9._() -]+")
_CHUNK = 1 << 20
# Entries smaller than this are never zip bombs, whatever their compression ratio.
_SMALL_ENTRY = 1_000_000
_SKIPPED = ("__MACOSX/", ".DS_Store", "Thumbs.db")


def new_folder(root: str | Path, kind: str) -> tuple[str, Path]:
    """A new private folder ``root/<kind>-<id>`` (mode 0700); returns the id and the path."""
    ident = secrets.token_urlsafe(16)
    path = Path(root) / f"{kind}-{ident}"
    path.mkdir(mode=0o700)
    return ident, path


def find_folder(root: str | Path, kind: str, ident: str) -> Path | None:
    """The folder of ``kind`` with id ``ident``, or None (an id of another shape included)."""
    if not ID_PATTERN.match(ident or ""):
        return None
    path = Path(root) / f"{kind}-{ident}"
    return path if path.is_dir() else None


def remove(path: str | Path | None) -> None:
    """Delete a folder and all it holds (nothing if it is already gone)."""
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def sweep(root: str | Path, minutes: int, *, busy_factor: int = 4) -> int:
    """Remove the folders whose time is up; returns how many were removed.

    A folder expires ``minutes`` after it was last written to; a job still running (its
    ``running`` marker present) gets ``busy_factor`` times longer.
    """
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            busy = os.path.exists(os.path.join(entry.path, "running"))
        except FileNotFoundError:
            continue
        if age > minutes * 60 * (busy_factor if busy else 1):
            remove(entry.path)
            removed += 1
    return removed


def safe_name(filename: str | None, default: str = "upload") -> str:
    """A file name as a browser sent it, reduced to its last part and plain characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = _NAME.sub("_", base).strip(" ._")[:100]
    if not cleaned or set(cleaned) <= {".", "_"}:
        return default
    return cleaned


async def save_upload(upload: Any, folder: Path, name: str) -> Path:
    """Copy an uploaded file (a Starlette ``UploadFile``) into ``folder/name``."""
    target = folder / name
    with open(target, "xb") as handle:
        while chunk := await upload.read(_CHUNK):
            handle.write(chunk)
    await upload.close()
    return target


def _entry_path(info: zipfile.ZipInfo, file: str) -> PurePosixPath | None:
    """Where an entry goes inside the folder, or None for a folder or a system file;
    a name that would leave the folder, or a link, is refused."""
    name = info.filename.replace("\\", "/")
    if any(name.startswith(s) or name.endswith("/" + s) or name == s for s in _SKIPPED):
        return None
    parts = PurePosixPath(name).parts
    climbs = ".." in parts or name.startswith("/") or re.match(r"^[A-Za-z]:", name)
    if climbs or "\x00" in name:
        raise DataError(f"the zip holds the entry {shorten(info.filename)!r}, whose path leads "
                        "outside the folder it is unpacked into", file=file,
                        fix="Zip the study folder itself (right-click > Compress) and upload "
                            "that zip.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DataError(f"the zip holds a link, {shorten(info.filename)!r}", file=file,
                        fix="Zip the files themselves, not links to them.")
    if info.is_dir() or not parts:
        return None
    return PurePosixPath(*parts)


def _check_sizes(entries: list[zipfile.ZipInfo], file: str, max_entries: int) -> None:
    bound = limits()
    if len(entries) > max_entries:
        raise DataError(f"the zip holds {len(entries):,} entries, more than the "
                        f"{max_entries:,} this server takes", file=file,
                        fix="Zip only the study's table files (and study.toml).")
    total = packed = 0
    for info in entries:
        stored = max(info.compress_size, 1)
        if info.file_size > bound.file_bytes:
            raise LimitError(f"the entry {shorten(info.filename)} decompresses to "
                             f"{info.file_size:,} bytes", limit="file_bytes", file=file)
        if info.file_size > _SMALL_ENTRY and info.file_size > bound.zip_ratio * stored:
            raise LimitError(f"the entry {shorten(info.filename)} decompresses from "
                             f"{stored:,} to {info.file_size:,} bytes, "
                             f"{info.file_size // stored:,} times larger", limit="zip_ratio",
                             file=file, fix="Tables zipped by a computer do not compress "
                                            "like this")
        total += info.file_size
        packed += stored
    if total > bound.workbook_bytes:
        raise LimitError(f"the zip decompresses to {total:,} bytes", limit="workbook_bytes",
                         file=file)
    if total > _SMALL_ENTRY and total > bound.zip_ratio * packed:  # many small bombs
        raise LimitError(f"the zip decompresses from {packed:,} to {total:,} bytes, "
                         f"{total // packed:,} times larger", limit="zip_ratio", file=file,
                         fix="Tables zipped by a computer do not compress like this")


def extract_zip(path: Path, dest: Path, *, file: str, max_entries: int = 2_000) -> Path:
    """Unpack a zip into ``dest`` after checking every entry; returns ``dest``.

    Raises
    ------
    DataError
        When it is not a zip, holds too many entries, an entry whose path leaves ``dest``,
        or a link.
    LimitError
        When it is beyond a reading limit (``file_bytes``, ``workbook_bytes``, ``zip_ratio``).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise DataError("is not a zip file", file=file,
                        fix="Zip the study folder (right-click > Compress) and upload the "
                            ".zip.") from None
    with archive:
        entries = archive.infolist()
        _check_sizes(entries, file, max_entries)
        plan = [(info, _entry_path(info, file)) for info in entries]
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        for info, inside in plan:
            if inside is None:
                continue
            target = dest.joinpath(*inside.parts)
            written = 0
            try:
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                with archive.open(info) as source, open(target, "xb") as handle:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > info.file_size:  # more than its header declares
                            raise DataError("the zip is damaged", file=file,
                                            fix="Zip the study folder again.")
                        handle.write(chunk)
            except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as error:
                raise DataError(f"the zip cannot be unpacked ({shorten(error, 60)})",
                                file=file, fix="Zip the study folder again with your "
                                               "computer's own zip tool.") from None
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise DataError(f"the zip holds {shorten(info.filename)!r} twice (or as a "
                                "file and a folder)", file=file,
                                fix="Zip the study folder again.") from None
    return dest


def study_root(folder: Path) -> Path:
    """The study inside an unpacked zip: ``folder``, or the one folder it holds."""
    inside = [p for p in folder.iterdir() if not p.name.startswith(".")]
    while len(inside) == 1 and inside[0].is_dir() and not (folder / "study.toml").exists():
        folder = inside[0]
        inside = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return folder
