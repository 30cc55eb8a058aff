"""Build the sample study, its packaged copy and the messy copy with planted faults.

Run from the repository root with the project's Python::

    python data/sample/build_sample.py

It writes, from one seed:

- ``data/sample/{coaches,engagements,sessions,responses}.csv`` and ``truth.json``: the study
  drawn by :func:`outcomes.simulate_study` (default settings, seed below);
- ``src/outcomes/sample_data/*.csv.gz`` and ``truth.json``: the same files, compressed, so that
  :func:`outcomes.load_sample` works after a plain install;
- ``data/sample/messy/``: the engagements of the first three coaches, with at least one planted
  fault of every kind the validator catches, and ``faults.csv`` listing each planted fault's
  file, row (line in the file), column and rule. ``sessions.csv`` there is written the way a
  European spreadsheet exports it (semicolons, decimal commas).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd

from outcomes.simulate.synthetic import simulate_study

SEED = 20261129
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
PACKAGED = ROOT / "src" / "outcomes" / "sample_data"
TABLES = ("coaches", "engagements", "sessions", "responses")


def build_sample() -> None:
    study = simulate_study(seed=SEED)
    study.write(SAMPLE)
    PACKAGED.mkdir(parents=True, exist_ok=True)
    for kind in TABLES:
        data = (SAMPLE / f"{kind}.csv").read_bytes()
        # mtime=0 keeps the compressed bytes identical from one build to the next
        with gzip.GzipFile(PACKAGED / f"{kind}.csv.gz", "wb", mtime=0) as out:
            out.write(data)
    shutil.copyfile(SAMPLE / "truth.json", PACKAGED / "truth.json")


class Planter:
    """Plants faults in text tables and remembers where each one went."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = {k: v.reset_index(drop=True).astype(object) for k, v in tables.items()}
        self.faults: list[dict[str, object]] = []

    def _note(self, kind: str, position: int, column: str, rule: str, what: str) -> None:
        # line 1 is the header, so the row at position p is on line p + 2
        self.faults.append({"file": f"{kind}.csv", "row": position + 2, "column": column,
                            "rule": rule, "what": what})

    def set(self, kind: str, position: int, column: str, value: object, rule: str,
            what: str) -> None:
        self.tables[kind].loc[position, column] = value
        self._note(kind, position, column, rule, what)

    def add(self, kind: str, like: int, changes: dict[str, object], column: str, rule: str,
            what: str) -> int:
        frame = self.tables[kind]
        row = frame.iloc[[like]].copy()
        for key, value in changes.items():
            row[key] = value
        self.tables[kind] = pd.concat([frame, row], ignore_index=True)
        position = len(self.tables[kind]) - 1
        self._note(kind, position, column, rule, what)
        return position

    def duplicate(self, kind: str, position: int, column: str, what: str) -> None:
        self.add(kind, position, {}, column, "unique", what)
        self._note(kind, position, column, "unique", what + " (first copy)")


def plant(tables: dict[str, pd.DataFrame]) -> Planter:
    p = Planter(tables)
    eng, ses, res = p.tables["engagements"], p.tables["sessions"], p.tables["responses"]
    p.set("coaches", 1, "years_experience", "-2", "range", "negative experience")
    p.duplicate("coaches", 2, "coach_id", "a coach listed twice")
    p.add("coaches", 0, {"coach_id": None}, "coach_id", "required", "a coach without an id")
    p.add("coaches", 0, {"coach_id": "C901", "accreditation": "profess\x00ional"},
          "accreditation", "nul_byte", "a NUL byte inside a cell")
    p.add("coaches", 0, {"coach_id": "C902", "orientation": "integrative " * 8_400},
          "orientation", "cell_size", "a cell of 100,800 characters")

    p.set("engagements", 3, "sponsor", "employer", "allowed_values",
          "sponsor not self/organisation")
    p.set("engagements", 5, "status", "finished", "allowed_values", "status not in the vocabulary")
    p.set("engagements", 7, "start_date", "2024-02-30", "type", "a date that does not exist")
    start = pd.Timestamp(eng.loc[9, "start_date"])
    p.set("engagements", 9, "end_date", (start - pd.Timedelta(days=3)).strftime("%Y-%m-%d"),
          "dates", "ends before it starts")
    p.set("engagements", 11, "coach_id", "C999", "unknown_reference", "a coach not in coaches")
    p.set("engagements", 13, "research_consent", "maybe", "type", "consent is not true/false")
    p.set("engagements", 15, "client_id", None, "required", "no client id")
    p.duplicate("engagements", 17, "engagement_id", "an engagement listed twice")

    p.add("sessions", 0, {"session": "two"}, "session", "type", "session number in words")
    p.add("sessions", 0, {"session": "0"}, "session", "range", "session number 0")
    p.add("sessions", 0, {"engagement_id": "E9999", "session": "1"}, "engagement_id",
          "unknown_reference", "a session of an engagement that does not exist")
    p.duplicate("sessions", 20, "session", "a session recorded twice")
    first = ses.index[(ses["engagement_id"] == ses.loc[30, "engagement_id"])]
    later = first[2]  # the third session dated before the first
    early = pd.Timestamp(ses.loc[first[0], "date"]) - pd.Timedelta(days=7)
    p.set("sessions", later, "date", early.strftime("%Y-%m-%d"), "date_order",
          "a session dated before an earlier-numbered one")
    p.set("sessions", 40, "adherence", "7", "range", "adherence above 5")
    p.set("sessions", 41, "duration_min", "0", "range", "a session of no minutes")
    p.set("sessions", 42, "techniques", "grow;astrology", "unknown_code",
          "a technique code not in the registry")

    ors = res.index[(res["instrument"] == "ors") & (res["occasion"] == "intake")]
    wai = res.index[res["instrument"] == "wai-sr"]
    p.set("responses", ors[0], "value", "11", "item_range", "ORS item above 10")
    p.set("responses", wai[0], "value", "2.5", "item_range", "WAI-SR item between options")
    p.set("responses", wai[1], "value", "n/a", "type", "text in a number column")
    p.set("responses", ors[5], "occasion", "midpoint", "allowed_values", "an unknown occasion")
    p.add("responses", wai[2], {"item": "13"}, "item", "unknown_item", "WAI-SR has 12 items")
    p.add("responses", ors[3], {"instrument": "bdi-ii"}, "instrument", "unknown_instrument",
          "an instrument not in the registry")
    p.add("responses", wai[3], {"session": None}, "session", "required",
          "a per-session response without its session")
    p.add("responses", wai[4], {"session": "42"}, "session", "unknown_session",
          "a response to a session that was not recorded")
    p.duplicate("responses", ors[8], "item", "an item answered twice")
    return p


def build_messy() -> None:
    messy = SAMPLE / "messy"
    messy.mkdir(exist_ok=True)
    tables = {k: pd.read_csv(SAMPLE / f"{k}.csv", dtype=str, keep_default_na=False,
                             na_values=[""]) for k in TABLES}
    coaches = tables["coaches"]["coach_id"].iloc[:3]
    keep_e = tables["engagements"]["coach_id"].isin(coaches)
    engagements = tables["engagements"][keep_e]
    ids = engagements["engagement_id"]
    subset = {
        "coaches": tables["coaches"].iloc[:3],
        "engagements": engagements,
        "sessions": tables["sessions"][tables["sessions"]["engagement_id"].isin(ids)],
        "responses": tables["responses"][tables["responses"]["engagement_id"].isin(ids)],
    }
    planter = plant(subset)
    for kind, frame in planter.tables.items():
        if kind == "sessions":
            frame = frame.copy()
            frame["duration_min"] = frame["duration_min"].str.replace(".", ",", regex=False)
            frame.to_csv(messy / f"{kind}.csv", index=False, sep=";")
        else:
            frame.to_csv(messy / f"{kind}.csv", index=False)
    faults = pd.DataFrame(planter.faults).sort_values(["file", "row"])
    faults.to_csv(messy / "faults.csv", index=False)
    (messy / "README.md").write_text(MESSY_README.format(n=len(faults)), encoding="utf-8")


MESSY_README = """# The messy sample

The engagements of the first three coaches of the sample study, with {n} planted faults:
at least one of every kind `outcomes validate` catches. `faults.csv` lists each one (file,
row — the line in the file —, column, the rule that catches it, and what was planted).
`sessions.csv` is written as a European spreadsheet exports it: semicolons between fields
and decimal commas.

    outcomes validate data/sample/messy --json

exits 1 and reports, per table, input rows = valid + rejected, and every fault listed here.
Built by `data/sample/build_sample.py`.
"""


if __name__ == "__main__":
    build_sample()
    build_messy()
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    print("true shares:", truth["shares"], "r2:", truth["r2"], "icc:", truth["icc"])
