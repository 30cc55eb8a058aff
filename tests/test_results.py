"""Every public result shows the same four faces and displays itself in one line.

One parametrised walk over every public result class: ``table()`` is a tidy frame in the
shared column vocabulary, ``summary()`` a text object that prints and renders in a notebook,
``plot(ax=None)`` an Axes (drawn on the one given), ``to_dict()`` JSON, ``repr`` one or two
short lines and ``_repr_html_`` a table. A result class added to the public names without a
factory here fails :func:`test_every_public_result_class_is_walked`.
"""

from __future__ import annotations

import dataclasses
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import outcomes as oc  # noqa: E402
from outcomes._results import COLUMNS, Result, Summary  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::outcomes.DataWarning")

NOT_RESULTS = {"ReportOptions", "Study"}  # options and the data itself, not results


@pytest.fixture(scope="module")
def sample():
    study = oc.load_sample()
    return study, study.analysis_table()


def _sessions(study):
    return oc.session_scores(study.scores())


def _trajectories(study):
    return oc.expected_trajectories(_sessions(study), outcome="ors")


def _norms(study):
    return oc.build_norms(study, n_boot=0)


def _mapped(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("client,ORS_s1_1,ORS_s1_2,ORS_s1_3,ORS_s1_4\nP1,5,6,5.5,7\nP2,4,4,,3\n")
    mapping = {"columns": {"client_id": "client"}, "constants": {"occasion": "session"},
               "items": [{"instrument": "ors", "pattern": "ORS_s{session}_{item}"}]}
    return oc.map_export(path, mapping)


def _scaled(study, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    import dask

    tables = {k: dd.from_pandas(v, npartitions=2) for k, v in study.tables.items()}
    with dask.config.set(scheduler="synchronous"):
        return oc.partitioned.validate_tables(tables, out=tmp_path)


ARMS = {"wait": {"mean_change": 4.0, "sd": 6.0, "n": 40},
        "placebo": {"mean_change": 5.5, "sd": 6.0, "n": 40},
        "support": {"mean_change": 8.5, "sd": 6.5, "n": 40},
        "coaching": {"mean_change": 10.0, "sd": 7.0, "n": 40}}
ROLES = {"none": "wait", "placebo": "placebo", "common": "support", "full": "coaching"}
SPLIT = {"client": .4, "relationship": .3, "expectancy": .15, "technique": .15}

FACTORIES = {
    "ValidationReport": lambda s, t, tmp: s.validate(),
    "Reliability": lambda s, t, tmp: oc.reliability(s.valid("responses"), "wai-sr", n_boot=30,
                                                    seed=1),
    "SimulatedStudy": lambda s, t, tmp: oc.simulate_study(n_coaches=6, clients_per_coach=5,
                                                          seed=1),
    "ReferenceSplit": lambda s, t, tmp: oc.REFERENCES["asay-lambert-1999"],
    "Decomposition": lambda s, t, tmp: oc.decompose(t, "end_score", oc.FACTORS,
                                                    covariates=["baseline"], n_boot=30,
                                                    cluster="coach_id", seed=1),
    "Comparison": lambda s, t, tmp: oc.decompose(t, "end_score", oc.FACTORS,
                                                 covariates=["baseline"]).compare(),
    "Dominance": lambda s, t, tmp: oc.dominance(t, "end_score", oc.FACTORS,
                                                covariates=["baseline"]),
    "MissingnessReport": lambda s, t, tmp: oc.decompose(t, "end_score", oc.FACTORS,
                                                        missing="em").missingness,
    "Sensitivity": lambda s, t, tmp: oc.sensitivity(t, "end_score", oc.FACTORS,
                                                    n_imputations=3, deltas=[0, 4, 8], seed=1),
    "Power": lambda s, t, tmp: oc.power(shares=SPLIT, r2=0.35, n_coaches=10,
                                        clients_per_coach=10, n_sim=4, n_boot=20, seed=1,
                                        n_jobs=1),
    "MultilevelFit": lambda s, t, tmp: oc.multilevel(t, "end_score", oc.FACTORS,
                                                     covariates=["baseline"]),
    "MultilevelShares": lambda s, t, tmp: oc.multilevel_shares(t, "end_score", oc.FACTORS,
                                                               covariates=["baseline"]),
    "AllianceOutcome": lambda s, t, tmp: oc.alliance_outcome(
        oc.session_table(s.scores(), s.valid("engagements")), alliance="alliance",
        outcome="outcome"),
    "Change": lambda s, t, tmp: oc.change(t, pre="baseline", post="end_score", instrument="ors"),
    "ImprovementSplit": lambda s, t, tmp: oc.improvement_split(summaries=ARMS, arms=ROLES),
    "Trajectories": lambda s, t, tmp: _trajectories(s),
    "Monitoring": lambda s, t, tmp: oc.monitor(_sessions(s), _trajectories(s), outcome="ors",
                                               alliance="srs"),
    "CoachEffects": lambda s, t, tmp: oc.coach_effects(t.dropna(subset=["end_score"]),
                                                       outcome="end_score",
                                                       covariates=["baseline"], seed=1),
    "Norms": lambda s, t, tmp: _norms(s),
    "Benchmark": lambda s, t, tmp: oc.benchmark(
        oc.benchmarking.practice_from_study(s, "C001"), _norms(s)),
    "MappedExport": lambda s, t, tmp: _mapped(tmp),
    "ScaledValidation": lambda s, t, tmp: _scaled(s, tmp),
    # returned by public functions, though not named in ``oc``
    "SuppressedTable": lambda s, t, tmp: oc.suppress_counts(
        pd.DataFrame({"self": [12, 3], "organisation": [20, 9]}, index=["improved", "same"])),
    "Report": lambda s, t, tmp: oc.build_benchmark_report(
        oc.benchmark(oc.benchmarking.practice_from_study(s, "C001"), _norms(s)), out=tmp,
        pdf=False),
}

SHARED = set(COLUMNS) | {"df"}
LOOKS_LIKE_VOCABULARY = re.compile(r"(ci_low|ci_high|std_error|p_value|estimate)$")


def test_every_public_result_class_is_walked():
    classes = {name for name in oc.__all__ if isinstance(getattr(oc, name, None), type)
               and dataclasses.is_dataclass(getattr(oc, name))}
    assert classes - NOT_RESULTS - set(FACTORIES) == set()


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def result(request, sample, tmp_path_factory):
    study, table = sample
    return FACTORIES[request.param](study, table, tmp_path_factory.mktemp(request.param))


def test_it_is_a_result_of_its_class(result):
    assert isinstance(result, Result)
    assert type(result).__name__ in FACTORIES


def test_repr_is_one_short_headline(result):
    text = repr(result)
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2 and all(len(line) <= 160 for line in lines), text
    assert text.startswith(f"<{type(result).__name__}: ")
    assert "\n" not in result.headline()


def test_html_shows_a_table(result):
    html = result._repr_html_()
    assert "<table" in html and type(result).__name__ in html


def test_table_is_a_tidy_frame_in_the_shared_vocabulary(result):
    frame = result.table()
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) > 0
    names = [str(c) for c in frame.columns]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), names
    # a column that carries an estimate or an interval end is named exactly as the vocabulary
    odd = [n for n in names if LOOKS_LIKE_VOCABULARY.search(n) and n not in SHARED]
    assert not odd, f"columns outside the vocabulary: {odd}"


def test_summary_is_text_that_displays_itself(result):
    summary = result.summary()
    assert isinstance(summary, Summary) and len(summary.strip()) > 0
    assert repr(summary) == str(summary)
    assert summary._repr_html_().startswith("<pre>")


def test_plot_draws_on_the_axes_it_is_given(result):
    fig, ax = plt.subplots()
    drawn = result.plot(ax=ax)
    assert drawn is ax or drawn.figure is fig
    assert drawn.has_data() or drawn.texts or drawn.patches or drawn.images or drawn.tables
    own = result.plot()
    assert own is not None and hasattr(own, "figure")


def test_to_dict_is_json(result):
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert isinstance(json.loads(text), dict) and json.loads(text)


def test_results_are_immutable(result):
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, np.nan)
