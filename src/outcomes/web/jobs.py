"""The body's long steps as jobs: unpack, validate, report, norms; left and come back to.

A job lives in its private folder (``body-<id>``): the uploads (``input/``), the unpacked
study (``study/``), what it made (``out/``) and its progress (``state.json``). The folder
is the job's only record, so that every server process can show any job by its id. A job
runs in a separate process (at most ``max_jobs`` at once, counted over the folders), so that
a long report never holds up the coach's pages. When it ends, its uploads and the unpacked
study are deleted at once; what it made waits to be downloaded (see :mod:`outcomes.web.files`
for when it goes).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from outcomes._errors import DataError, OutcomesError
from outcomes.web.files import extract_zip, remove, study_root
from outcomes.web.security import log_error, reference_id

__all__ = ["STEPS", "read_state", "write_state", "new_state", "running_jobs", "run_job",
           "OUTPUTS", "PROBLEMS_SHOWN"]

#: The steps of a job, in order, with what the page says while each runs.
STEPS: dict[str, str] = {"unpack": "Reading the upload", "validate": "Validating every row",
                         "report": "Writing the report", "norms": "Building the norms"}
#: The files a finished job offers, by name: (path inside ``out/``, content type).
OUTPUTS: dict[str, tuple[str, str]] = {
    "report.pdf": ("report.pdf", "application/pdf"),
    "report.html": ("report.html", "text/html; charset=utf-8"),
    "norms.json": ("norms.json", "application/json"),
    "coach-effects.csv": ("coach-effects.csv", "text/csv; charset=utf-8"),
}
#: Problems listed on the page (all of them are in the rejected rows' download).
PROBLEMS_SHOWN = 2_000


class _Stop(Exception):
    pass


def new_state(spec: dict[str, Any]) -> dict[str, Any]:
    """The state of a job that has not started."""
    return {"status": "queued", "title": spec.get("title") or "Coaching outcomes report",
            "steps": [{"name": n, "label": label, "status": "waiting"}
                      for n, label in STEPS.items()],
            "error": None, "validation": None, "mapping": [], "notes": []}


def read_state(folder: Path) -> dict[str, Any] | None:
    """A job's state, or None when the folder holds none (or is gone)."""
    try:
        return dict(json.loads((folder / "state.json").read_text("utf-8")))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Replace a job's state at once (readers never see half a file)."""
    partial = folder / "state.json.part"
    partial.write_text(json.dumps(state, allow_nan=False, default=str), "utf-8")
    os.replace(partial, folder / "state.json")


def running_jobs(root: Path) -> int:
    """Jobs waiting or running under ``root`` (in every server process)."""
    count = 0
    for folder in root.glob("body-*"):
        state = read_state(folder)
        if state and state["status"] in ("queued", "running"):
            count += 1
    return count


def _clean(text: str, folder: Path) -> str:
    """A message without the private folder's path (the user knows the files by name)."""
    for place in sorted({str(folder / "study"), str(folder / "input"), str(folder)},
                        key=len, reverse=True):
        text = text.replace(place + os.sep, "").replace(place, "the upload")
    return text


class _Deleted(Exception):
    pass


def _deleted(folder: Path) -> bool:
    """Whether the job was deleted (its state is gone) while it ran."""
    return not (folder / "state.json").is_file()


def _save(folder: Path, state: dict[str, Any]) -> None:
    """Write the job's state, unless the job was deleted meanwhile (then stop it)."""
    if _deleted(folder):
        raise _Deleted
    write_state(folder, state)


@contextlib.contextmanager
def _step(folder: Path, state: dict[str, Any], name: str) -> Iterator[None]:
    step = next(s for s in state["steps"] if s["name"] == name)
    step["status"] = "running"
    _save(folder, state)
    try:
        yield
    except _Deleted:
        raise
    except OutcomesError as error:
        step["status"] = "failed"
        state.update(status="failed", error=_clean(str(error), folder))
        raise _Stop from None
    except Exception as error:  # noqa: BLE001 - said with a reference, logged without data
        ref = reference_id()
        log_error(ref, error)
        step["status"] = "failed"
        state.update(status="failed", error="This step could not be finished; nothing you sent "
                     f"was kept. Reference {ref} (for whoever runs the server).")
        raise _Stop from None
    step["status"] = "done"
    _save(folder, state)


def _confined_study(root: Path) -> None:
    """Refuse an uploaded study.toml that lets a table file lie outside the upload (it would
    read the server's own files)."""
    config = root / "study.toml"
    if not config.is_file():
        return
    from outcomes.io import read_toml

    try:
        tables = read_toml(config, file="study.toml").get("tables", {})
    except Exception:  # noqa: BLE001 - read_study says what is wrong with it
        return
    for kind, entry in (tables.items() if isinstance(tables, dict) else ()):
        if isinstance(entry, dict) and entry.get("allow_outside", False) is not False:
            raise DataError(f"[tables.{kind}] has allow_outside, which an upload may not use: "
                            "the server reads only the files in the zip", file="study.toml",
                            fix="Put the file into the zipped folder, name it relative to "
                                "study.toml and remove allow_outside.")


def _confined_mapping(inbox: Path, mapping: str) -> None:
    """Refuse a mapping whose data dictionary is not one of the uploaded files."""
    from outcomes.mapping import read_mapping

    dictionary = read_mapping(inbox / mapping).dictionary
    if dictionary is not None and not Path(dictionary).resolve().is_relative_to(
            inbox.resolve()):
        raise DataError("[source] dictionary names a file that was not uploaded: the server "
                        "reads only the files sent with the form", file=mapping,
                        fix="Upload the data dictionary with the exports and give its file "
                            'name alone, as in dictionary = "dictionary.csv".')


def _unpack(folder: Path, spec: dict[str, Any], state: dict[str, Any]) -> Path:
    inbox, study = folder / "input", folder / "study"
    if spec["kind"] == "zip":
        name = spec["upload"]
        extract_zip(inbox / name, study, file=name, max_entries=spec["max_zip_entries"])
        root = study_root(study)
        _confined_study(root)
        return root
    from outcomes.mapping import map_export

    _confined_mapping(inbox, spec["mapping"])
    rejected = folder / "out" / "rejected"
    for export in spec["exports"]:
        result = map_export(inbox / export, inbox / spec["mapping"]).write(study)
        state["mapping"].append({"export": export, "read": result.rows_read,
                                 "mapped": result.rows_mapped,
                                 "rejected": result.rows_rejected})
        for found in (study / "rejected").glob("*.csv"):
            rejected.mkdir(parents=True, exist_ok=True)
            shutil.copy(found, rejected / f"mapping-{found.name}")
    return study


def _validate(folder: Path, study_dir: Path, state: dict[str, Any]) -> Any:
    from outcomes.study import read_study

    study = read_study(study_dir)
    report = study.validate()
    problems = report.problems.head(PROBLEMS_SHOWN)
    shown = [{"table": p.table, "file": Path(str(p.file)).name, "row": _number(p.row),
              "column": p.column, "value": None if p.value is None else str(p.value)[:60],
              "message": p.message, "fix": p.fix} for p in problems.itertuples(index=False)]
    state["validation"] = {
        "ok": report.ok, "headline": report.headline(),
        "counts": report.counts.to_dict(orient="records"),
        "problems": shown, "n_problems": len(report.problems),
        "notes": [_clean(m, study_dir) for m in report.note_messages()]}
    if not report.ok:
        report.write_rejected(folder / "out" / "rejected")
    return study


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def run_job(folder_name: str, spec: dict[str, Any]) -> None:
    """Run a body's job in its folder (in a worker process); the state says how it went."""
    from outcomes.norms import build_norms
    from outcomes.report import ReportOptions, build_report

    folder = Path(folder_name)
    state = read_state(folder)
    if state is None:  # deleted before it started
        return
    (folder / "running").touch()
    (folder / "out").mkdir(exist_ok=True, mode=0o700)
    state["status"] = "running"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _step(folder, state, "unpack"):
                study_dir = _unpack(folder, spec, state)
            with _step(folder, state, "validate"):
                study = _validate(folder, study_dir, state)
            with _step(folder, state, "report"):
                options = ReportOptions(title=state["title"], k=spec["k"],
                                        n_boot=spec["n_boot"])
                build_report(study, out=folder / "out", options=options,
                             salt_file=spec.get("salt_file"), pdf=spec["pdf"],
                             command="outcomes serve")
            with _step(folder, state, "norms"):
                build_norms(study, k=spec["k"], n_boot=spec["n_boot"],
                            title=state["title"]).write(folder / "out" / "norms.json")
        state["status"] = "done"
    except (_Stop, _Deleted):
        pass
    finally:
        remove(folder / "input")
        remove(folder / "study")
        if _deleted(folder):  # deleted while it ran: remove what a step wrote since
            remove(folder)
        else:
            with contextlib.suppress(FileNotFoundError):
                write_state(folder, state)
                (folder / "running").unlink()
