"""Differentially private norms: the guarantee stated, the budget spent, the noise as promised.

The mechanisms are OpenDP's; these tests check what this package adds around them: the
budget split adds up to epsilon, the noise drawn with a seed has the spread OpenDP's own
sampler gives, a private mean lies within its expected noise of the true mean over many
releases, and a coach's benchmark reads private norms as it reads any others.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import outcomes as oc
from outcomes._errors import UsageError
from outcomes.benchmarking import benchmark, practice_from_study
from outcomes.norms import build_norms, check_norms, read_norms
from outcomes.norms._private import WITHIN, _laplace, _release_band, _Releaser, _row
from outcomes.norms._release import measures
from tests.e2e._outcomes_cli import run

SPECS = measures()
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    return oc.load_sample()


@pytest.fixture(scope="module")
def private(sample):
    return build_norms(sample, n_boot=0, seed=7, privacy="dp", epsilon=4.0)


def test_the_file_states_its_guarantee_and_budget(private, sample):
    doc = private.to_dict()
    check_norms(doc)
    section = doc["privacy"]
    assert section["method"] == "dp" and section["epsilon"] == 4.0 and section["delta"] == 0
    assert section["library"].startswith("OpenDP ")
    assert "one engagement" in section["neighbours"] and "one client" in section["neighbours"]
    assert section["seeded"] is True and "testing only" in section["guarantee"]
    spent = [entry["epsilon"] for entry in section["budget"]]
    assert sum(spent) == pytest.approx(4.0, rel=1e-6) and sum(spent) <= 4.0 + 1e-6
    assert {e["statistic"] for e in section["budget"]} >= {
        "band edge", "count", "sum (mean)", "sum of squares (SD)", "histogram (quantiles)"}
    for part in ("case_mix", "coach_effects", "factor_shares", "trajectories"):
        assert "not released under differential privacy" in doc[part]["withheld"]
        assert part in section["not_covered"]
    engagements = sample.valid("engagements")
    text = json.dumps(doc)
    assert [i for i in set(engagements["engagement_id"]) | set(engagements["coach_id"])
            if f'"{i}"' in text] == []


@pytest.mark.parametrize("epsilon", [0.5, 3.0])
def test_the_budget_adds_up_to_epsilon(sample, epsilon):
    doc = build_norms(sample, n_boot=0, seed=1, privacy="dp", epsilon=epsilon).document
    spent = sum(entry["epsilon"] for entry in doc["privacy"]["budget"])
    assert spent == pytest.approx(epsilon, rel=1e-6) and spent <= epsilon * (1 + 1e-9)


def test_a_seed_repeats_the_release_and_another_seed_does_not(sample, private):
    again = build_norms(sample, n_boot=0, seed=7, privacy="dp", epsilon=4.0).document
    other = build_norms(sample, n_boot=0, seed=8, privacy="dp", epsilon=4.0).document
    assert again["distributions"] == private.document["distributions"]
    assert other["distributions"] != private.document["distributions"]


def test_without_a_seed_the_noise_is_opendps_and_has_the_same_spread():
    # a count released 400 times by OpenDP's sampler and 400 times by the seeded path
    x = np.arange(200.0)
    epsilon = 0.2
    opendp = np.array([_Releaser(None).count(x, epsilon, ("count", "t", "all"))
                       for _ in range(400)])
    seeded = np.array([_Releaser(np.random.default_rng(i)).count(x, epsilon,
                                                                 ("count", "t", "all"))
                       for i in range(400)])
    _, scale, spent = _laplace("count", 0.0, epsilon)
    assert spent == pytest.approx(epsilon, rel=1e-6)
    expected = np.sqrt(2) * scale  # the SD of Laplace noise of this scale
    for draws in (opendp, seeded):
        assert abs(draws.mean() - 200) < 4 * expected / np.sqrt(400)
        assert 0.8 < draws.std() / expected < 1.2


def test_a_private_mean_lies_within_its_expected_noise_of_the_true_mean():
    spec = SPECS["alliance"]
    values = np.random.default_rng(0).uniform(2.0, 5.0, 300).round(2)
    eps = {name: 0.5 * share for name, share in WITHIN.items()}
    means = []
    for seed in range(300):
        released = _release_band(values, spec, eps, _Releaser(np.random.default_rng(seed)))
        means.append(_row("all", spec, released, 5)["mean"])
    means = np.asarray(means)
    _, sum_scale, _ = _laplace("sum", spec.bounds[1] - spec.bounds[0], eps["mean"])
    _, count_scale, _ = _laplace("count", 0.0, eps["count"])
    n, shifted = values.size, values.mean() - spec.bounds[0]
    # the delta method: noise of the sum and of the count, each Laplace (SD sqrt(2) * scale)
    sd = np.sqrt(2 * sum_scale ** 2 + 2 * (shifted * count_scale) ** 2) / n
    assert abs(means.mean() - values.mean()) < 4 * sd / np.sqrt(means.size) + 0.005
    assert 0.75 < means.std() / sd < 1.3


def test_a_coachs_benchmark_reads_private_norms_unchanged(sample, private):
    result = benchmark(practice_from_study(sample, "C010"), private)
    assert result.standing is None  # the coach-effect spread is not in private norms
    assert result.alliance["percentile"] is not None
    assert len(result.by_band) == len(private.document["bands"]["labels"])
    assert result.by_band["body_median"].notna().any()
    assert "norms" in result.missing
    assert result.summary() is not None


def test_epsilon_is_checked(sample):
    with pytest.raises(UsageError, match="needs epsilon"):
        build_norms(sample, n_boot=0, privacy="dp")
    with pytest.raises(UsageError, match="positive number"):
        build_norms(sample, n_boot=0, privacy="dp", epsilon=-1.0)
    with pytest.raises(UsageError, match="budget of privacy"):
        build_norms(sample, n_boot=0, epsilon=1.0)


def test_private_norms_end_to_end(tmp_path):
    out = tmp_path / "norms.json"
    made = run("norms", str(SAMPLE), "--out", str(out), "--privacy", "dp", "--epsilon", "2",
               "--n-boot", "0", "--json")
    assert made.returncode == 0, made.stderr
    payload = json.loads(made.stdout)
    assert payload["privacy"] == "dp" and payload["epsilon"] == 2.0 and payload["seed"] is None
    doc = read_norms(out).document
    assert doc["privacy"]["seeded"] is False and "OpenDP's samplers" in \
        doc["privacy"]["guarantee"]
    page = tmp_path / "benchmark"
    shown = run("benchmark", str(SAMPLE), "--coach", "C003", "--norms", str(out), "--out",
                str(page), "--no-pdf")
    assert shown.returncode == 0, shown.stderr
    assert (page / "benchmark.html").exists()
    lacking = run("norms", str(SAMPLE), "--out", str(out), "--privacy", "dp")
    assert lacking.returncode == 2 and "--epsilon" in lacking.stderr
