"""`outcomes power` end to end: a real process, exit codes, JSON equal to the Python API."""

from __future__ import annotations

import json

import pytest

from ._outcomes_cli import run


def test_json_equals_the_api_and_the_plot_is_written(tmp_path):
    from outcomes.shares.power import power

    plot = tmp_path / "width.png"
    result = run("power", "--shares", "client=.5,relationship=.2,expectancy=.2,technique=.1",
                 "--coaches", "6,12", "--clients-per-coach", "8", "--sims", "12", "--boot",
                 "20", "--seed", "4", "--jobs", "1", "--plot", str(plot), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    api = power(shares={"client": .5, "relationship": .2, "expectancy": .2, "technique": .1},
                r2=0.35, n_coaches=[6, 12], clients_per_coach=8, n_sim=12, n_boot=20, seed=4,
                n_jobs=1)
    expected = json.loads(json.dumps(api.to_dict()))
    assert payload.pop("plot") == str(plot)
    assert payload == expected
    assert plot.stat().st_size > 1000


def test_text_report_and_reliability_option():
    result = run("power", "--coaches", "5", "--clients-per-coach", "6", "--sims", "5",
                 "--boot", "10", "--seed", "1", "--jobs", "1", "--reliability", "perfect",
                 "--reference", "none")
    assert result.returncode == 0, result.stderr
    assert "5 coaches × 6 clients = 30 clients" in result.stdout
    assert "reliability client 1.00" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["--coaches", "many"], "--n-coaches"),
    (["--shares", "client=.4,relationship"], "--shares"),
    (["--shares", "client=1"], "shares must map exactly"),
    (["--boot", "3"], "n_boot"),
    (["--reference", "unknown-split"], "not a known split"),
    (["--reliability", "client=2"], "(0, 1]"),
])
def test_usage_errors_exit_2_without_traceback(args, words):
    # a later option wins over the defaults given first
    result = run("power", "--sims", "3", "--boot", "10", "--coaches", "5", "--jobs", "1", *args)
    assert result.returncode == 2
    assert words in result.stderr
