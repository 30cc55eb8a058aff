"""Validation, scoring and the analysis table of Dask tables equal the in-memory results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import outcomes as oc
from outcomes.study import read_study
from outcomes.validation.rules import validate_tables as validate_in_memory
from tests import test_partitioned_cluster as cluster
from tests.conftest import small_study

dd = pytest.importorskip("dask.dataframe")
partitioned = pytest.importorskip("outcomes.partitioned")
dask_client = cluster.dask_client  # the shared two-worker cluster
on_cluster = cluster.on_cluster

MESSY = Path(__file__).resolve().parents[1] / "data" / "sample" / "messy"
KEY = ["table", "file", "row", "column", "rule", "message", "value", "fix"]


def _problems(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[KEY].astype({"row": "int64"})
    out["value"] = out["value"].astype(object).where(out["value"].notna(), None)
    return out.sort_values(KEY[:6]).reset_index(drop=True)


def _same_report(scaled, memory) -> None:
    pd.testing.assert_frame_equal(scaled.counts, memory.counts)
    pd.testing.assert_frame_equal(_problems(scaled.problems()), _problems(memory.problems),
                                  check_dtype=False)
    for kind in memory.rejected:
        ours = scaled.rejected(kind).sort_values("row").reset_index(drop=True)
        theirs = memory.rejected[kind].sort_values("row").reset_index(drop=True)
        assert ours["row"].tolist() == theirs["row"].tolist()
        assert ours["reasons"].tolist() == theirs["reasons"].tolist()


def test_messy_files_give_the_in_memory_report(tmp_path, on_cluster):
    memory = read_study(MESSY).validate()
    tables = partitioned.read_study(MESSY)
    scaled = partitioned.validate_tables(tables, out=tmp_path, npartitions=4)
    assert not scaled.ok
    _same_report(scaled, memory)
    counts = scaled.counts
    assert (counts["input"] == counts["valid"] + counts["rejected"]).all()
    assert (tmp_path / "rejected" / "sessions").is_dir()
    assert scaled.to_dict()["tables"]["sessions"]["rejected"] == 9
    assert scaled.headline() == memory.headline() + ", 4 partitions"


def _faulty_study() -> dict[str, pd.DataFrame]:
    """The small study with faults that need more than one partition's rows to see."""
    tables = small_study()
    sessions = tables["sessions"]
    late = sessions.iloc[[0]].assign(session="4", date="2024-01-01")  # before session 1-3
    repeat = sessions.iloc[[4]]  # the same engagement and session again
    stray = sessions.iloc[[5]].assign(engagement_id="E99")  # an unknown engagement
    tables["sessions"] = pd.concat([sessions, late, repeat, stray], ignore_index=True)
    twin = tables["engagements"].iloc[[2]].assign(client_id="P77")  # E3 twice
    tables["engagements"] = pd.concat([tables["engagements"], twin], ignore_index=True)
    responses = tables["responses"]
    lost = responses[responses["occasion"] == "session"].iloc[[0]].assign(session="9")
    tables["responses"] = pd.concat([responses, lost], ignore_index=True)
    return tables


@pytest.mark.parametrize("npartitions", [1, 3])
def test_rules_across_partitions_match_memory(tmp_path, npartitions, on_cluster):
    tables = _faulty_study()
    memory = validate_in_memory(tables)
    assert set(memory.problems["rule"]) >= {"unique", "date_order", "unknown_reference",
                                            "unknown_session"}
    frames = {k: dd.from_pandas(v, npartitions=3) for k, v in tables.items()}
    scaled = partitioned.validate_tables(frames, out=tmp_path, npartitions=npartitions)
    _same_report(scaled, memory)
    for kind in ("coaches", "sessions"):
        valid = scaled.valid(kind).compute().sort_index()
        pd.testing.assert_frame_equal(valid, memory.valid[kind].sort_index(),
                                      check_dtype=False)


def test_scores_and_analysis_table_match_memory(tmp_path, on_cluster):
    simulated = oc.simulate_study(n_coaches=6, clients_per_coach=8, seed=3)  # CEQ included
    study = oc.Study(tables=simulated.tables)
    frames = {k: dd.from_pandas(v, npartitions=3) for k, v in study.tables.items()}
    report = partitioned.validate_tables(frames, out=tmp_path)
    pd.testing.assert_frame_equal(report.counts, study.validate().counts)
    scores = partitioned.score(report.valid("responses"), grouped=True)
    key = ["engagement_id", "occasion", "session", "instrument", "rater", "scale"]
    ours = scores.compute().sort_values(key).reset_index(drop=True)
    theirs = study.scores().sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, atol=1e-10)
    shuffled = partitioned.score(frames["responses"], npartitions=2).compute()
    pd.testing.assert_frame_equal(shuffled.sort_values(key).reset_index(drop=True), theirs,
                                  check_dtype=False, atol=1e-10)
    table = partitioned.analysis_table(report.valid("engagements"), report.valid("sessions"),
                                 scores, grouped=True).compute()
    expected = study.analysis_table().sort_values("engagement_id").reset_index(drop=True)
    got = table.sort_values("engagement_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-10)
    assert np.isfinite(got["end_score"]).sum() == np.isfinite(expected["end_score"]).sum()


def test_parquet_parts_keep_file_and_record_numbers(tmp_path, on_cluster):
    sessions = small_study()["sessions"]
    sessions.loc[7, "adherence"] = "9"  # out of range, in the second file
    folder = tmp_path / "study"
    folder.mkdir()
    sessions.iloc[:5].to_parquet(folder / "sessions-1.parquet", index=False)
    sessions.iloc[5:].to_parquet(folder / "sessions-2.parquet", index=False)
    tables = partitioned.read_study(folder)
    assert tables["sessions"].npartitions == 2
    report = partitioned.validate_tables(tables, out=tmp_path / "out")
    problem = report.problems().iloc[0]
    assert Path(problem["file"]).name == "sessions-2.parquet"
    assert problem["row"] == 4  # the third record of the file, as a spreadsheet counts
    assert problem["column"] == "adherence" and problem["rule"] == "range"


def _cut(frame: pd.DataFrame, bounds: list[int]):
    """The frame as a Dask frame cut at the given row positions, in order."""
    edges = [0, *bounds, len(frame)]
    parts = [frame.iloc[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return dd.from_map(lambda part: part, parts, meta=frame.iloc[:0], enforce_metadata=False)


def _engagement_edges(frame: pd.DataFrame, every: int) -> list[int]:
    """Row positions where a new engagement starts, taking every ``every``-th one."""
    ids = frame["engagement_id"].to_numpy()
    starts = [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
    return starts[every - 1::every]


@pytest.mark.parametrize("whole", [True, False])
def test_parts_that_keep_engagements_whole_stay_where_they_are(tmp_path, whole, on_cluster):
    tables = _faulty_study()
    tables["responses"] = tables["responses"].sort_values(
        "engagement_id", kind="stable").reset_index(drop=True)
    memory = validate_in_memory(tables)
    edges = _engagement_edges(tables["responses"], 2)  # E1-E2 | E3-E4 | E5-E6
    if not whole:  # the first engagement's rows in two parts: the tables are hashed
        edges = [5, *edges]
    frames = {"coaches": _cut(tables["coaches"], [2]),  # one file of engagements, sessions
              "engagements": _cut(tables["engagements"], []),  # cut across engagements
              "sessions": _cut(tables["sessions"], [4, 7, 13]),
              "responses": _cut(tables["responses"], edges)}
    scaled = partitioned.validate_tables(frames, out=tmp_path)
    _same_report(scaled, memory)
    for kind in tables:
        pd.testing.assert_frame_equal(scaled.valid(kind).compute().sort_index(),
                                      memory.valid[kind].sort_index(), check_dtype=False)
    if whole:  # bucket i holds the rows of part i of the responses, nothing else
        assert scaled.npartitions == len(edges) + 1
        valid = scaled.valid("responses")
        bounds = [0, *edges, len(tables["responses"])]
        for i in range(valid.npartitions):
            rows = valid.partitions[i].compute().index
            assert len(rows) and rows.min() > bounds[i] and rows.max() <= bounds[i + 1]
    from outcomes.partitioned._route import closed_buckets

    assert (closed_buckets({"responses": frames["responses"]}, "responses") is None) != whole


def test_scoring_with_the_moments_validation_gathered_skips_a_pass(tmp_path, on_cluster,
                                                                   monkeypatch):
    from outcomes.partitioned import _derive

    simulated = oc.simulate_study(n_coaches=6, clients_per_coach=8, seed=3)  # CEQ included
    frames = {k: dd.from_pandas(v, npartitions=3) for k, v in simulated.tables.items()}
    report = partitioned.validate_tables(frames, out=tmp_path)
    assert set(report.item_moments) == {"ceq"}
    valid = report.valid("responses")
    passed = partitioned.score(valid, grouped=True).compute()

    def no_pass(*args, **kwargs):
        raise AssertionError("the responses were read again for their item moments")

    monkeypatch.setattr(_derive, "_moments_of", no_pass)
    with pytest.raises(AssertionError, match="read again"):
        partitioned.score(valid, grouped=True)
    given = partitioned.score(valid, grouped=True, item_moments=report.item_moments)
    pd.testing.assert_frame_equal(given.compute(), passed)  # to the last bit


def _parquet_parts(tables: dict[str, pd.DataFrame], folder: Path,
                   cuts: dict[str, list[int]]) -> None:
    folder.mkdir()
    for kind, frame in tables.items():
        edges = [0, *cuts[kind], len(frame)]
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            frame.iloc[a:b].to_parquet(folder / f"{kind}-{i + 1}.parquet", index=False)


def test_parts_read_where_they_are_checked_give_the_same_report(tmp_path, on_cluster,
                                                                monkeypatch):
    """Parts of files are read by the task that checks them, and their distinct ids come
    from the id column's distinct cells: each loader gives its Dask partition, its id
    hashes are those of all its rows (padded, numeric or missing ids included), and the
    report equals the one built from Dask's own partitions."""
    from outcomes.partitioned import _read

    tables = _faulty_study()
    responses = tables["responses"].sort_values("engagement_id", kind="stable")
    padded = responses.index % 3 == 0  # the same id, padded in some cells and not others
    responses["engagement_id"] = responses["engagement_id"].where(
        ~padded, " " + responses["engagement_id"] + " ")
    tables["responses"] = responses.reset_index(drop=True)
    cuts = {"coaches": [2], "engagements": [], "sessions": [4, 7, 13],
            "responses": _engagement_edges(tables["responses"], 2)}
    _parquet_parts(tables, tmp_path / "study", cuts)
    numbers = pd.DataFrame({" engagement_id": [1.0, 2.0, None, 2.0, 1.0], "x": range(5)})
    numbers.to_parquet(tmp_path / "numbers.parquet", index=False)
    tables["sessions"].to_csv(tmp_path / "sessions.csv", index=False)
    frames = partitioned.read_study(tmp_path / "study")
    checked = [*frames.items(), ("sessions", partitioned.read_table(tmp_path / "numbers.parquet")),
               ("sessions", partitioned.read_table(tmp_path / "sessions.csv", kind="sessions"))]
    for kind, frame in checked:
        column = "coach_id" if kind == "coaches" else "engagement_id"
        parts = _read.loaders(frame)
        assert parts is not None and len(parts) == frame.npartitions
        for i, load in enumerate(parts):
            expected = frame.partitions[i].compute()
            pd.testing.assert_frame_equal(load(), expected)
            np.testing.assert_array_equal(load.id_hashes(column),
                                          _read.unique_hashes(expected, column))
    routed = partitioned.validate_tables(frames, out=tmp_path / "routed")
    assert routed.npartitions == len(cuts["responses"]) + 1  # the responses stayed put
    monkeypatch.setattr(_read, "_LOADERS", {})  # Dask's partitions, sent to the checks
    sent = partitioned.validate_tables(frames, out=tmp_path / "sent")
    pd.testing.assert_frame_equal(routed.counts, sent.counts)
    pd.testing.assert_frame_equal(routed.problems(), sent.problems())
    assert routed.n_problems > 0 and routed.item_moments == sent.item_moments
    for kind in tables:
        pd.testing.assert_frame_equal(routed.rejected(kind), sent.rejected(kind))
        pd.testing.assert_frame_equal(routed.valid(kind).compute(), sent.valid(kind).compute())


def test_an_id_stored_as_the_parquet_index_routes_as_its_rows(tmp_path, on_cluster):
    """A file written with ``engagement_id`` as its pandas index: the distinct-id pass finds
    the ids the full read finds, so each engagement's rows meet in one bucket and the report
    equals the in-memory one (no false missing links)."""
    from outcomes.partitioned import _read

    tables = _faulty_study()
    tables["responses"] = tables["responses"].sort_values(
        "engagement_id", kind="stable").reset_index(drop=True)
    memory = validate_in_memory(tables)
    folder = tmp_path / "study"
    _parquet_parts(tables, folder, {"coaches": [], "engagements": [], "sessions": [],
                                    "responses": _engagement_edges(tables["responses"], 2)})
    for path in folder.glob("sessions-*.parquet"):
        pd.read_parquet(path).set_index("engagement_id").to_parquet(path)
    frames = partitioned.read_study(folder)
    for load in _read.loaders(frames["sessions"]):
        np.testing.assert_array_equal(load.id_hashes("engagement_id"),
                                      _read.unique_hashes(load(), "engagement_id"))
    scaled = partitioned.validate_tables(frames, out=tmp_path / "out")
    pd.testing.assert_frame_equal(scaled.counts, memory.counts)
    what = ["table", "column", "rule", "message"]  # files and rows are the parts' own
    pd.testing.assert_frame_equal(
        scaled.problems()[what].sort_values(what).reset_index(drop=True),
        memory.problems[what].sort_values(what).reset_index(drop=True), check_dtype=False)
