"""The coach's benchmark page as a coach (and a supervisor) reads it: one headline decided by
one stated rule, words instead of code names, every number released through the disclosure
gate, nothing about fewer than k of the coach's clients, and the same page on every run."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

import outcomes as oc
from outcomes.benchmarking import benchmark, practice_from_study
from outcomes.benchmarking._words import VERDICTS, verdict_of
from outcomes.norms import build_norms
from outcomes.report import build_benchmark_report

NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


class _Text(HTMLParser):
    """The text a reader sees (and the figures' alt text), without the footer and style."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        if tag in ("footer", "style", "title"):
            self.skip += 1
        alt = dict(attrs).get("alt")
        if tag == "img" and alt and not self.skip:
            self.parts.append(alt)

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if tag in ("footer", "style", "title"):
            self.skip -= 1

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if not self.skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture(scope="module")
def sample():
    return oc.load_sample()


@pytest.fixture(scope="module")
def norms(sample):
    return build_norms(sample, n_boot=0, seed=2)


@pytest.fixture(scope="module")
def c001(sample):
    return practice_from_study(sample, "C001")


@pytest.fixture(scope="module")
def page(norms, c001, tmp_path_factory):
    result = benchmark(c001, norms)
    report = build_benchmark_report(result, out=tmp_path_factory.mktemp("bm"), pdf=False)
    return result, report, report.html.read_text(encoding="utf-8")


def _numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def test_every_number_on_the_page_is_in_the_gate_log(page):
    result, report, html = page
    text = page_text(html)
    # not data, each removed by where it comes from: the body's name and the norms' date
    text = text.replace(result.norms["title"], " ").replace(result.norms["created"], " ")
    logged = set().union(*(_numbers(t) for t in report.disclosure.published_texts()))
    missing = sorted(_numbers(text) - logged)
    assert missing == [], f"numbers on the page that did not pass the gate: {missing}"
    log = report.disclosure.log
    assert set(log["rule"]) >= {"one of your own clients", "published in the norms",
                                "setting, not data", "statistic", "count"}
    settings = set(log.loc[log["rule"] == "setting, not data", "what"])
    assert settings <= {"k", "interval level", "coverage of the usual range",
                        "a hundred: percentiles and intervals in words", "lowest ORS score",
                        "highest ORS score", "lowest SRS", "highest SRS", "few clients",
                        "share of the body in the middle range"}


def test_the_headline_comes_first_and_follows_its_rule(page):
    result, report, html = page
    text = page_text(html)
    main = text.split("Your practice beside your body's norms", 1)[1]
    headline = VERDICTS[result.verdict].format(body=result.norms["title"])
    assert main.split(" 18 clients, against the norms of")[1].split(" (", 1)[0] == " sample"
    assert text.index(headline) < text.index("Contents") < text.index("How your clients")
    assert "How this headline is decided" in text and "lies above or below zero" in text
    s = result.standing
    assert result.verdict == verdict_of(s) == report.facts["verdict"] == "about"
    assert s["ci_low"] < 0 < s["ci_high"]
    # the detail explains points, the interval and the place among coaches in words
    assert "Points are points of the Outcome Rating Scale (ORS)" in text
    assert "we cannot tell yet with this many clients" in text
    assert "between the 11th and the 99th" not in text


@pytest.mark.parametrize(("shift", "verdict"), [(12.0, "above"), (-12.0, "below")])
def test_a_coach_clearly_above_or_below_reads_so(norms, c001, tmp_path, shift, verdict):
    practice = c001
    clients = practice.clients.assign(end_ors=practice.clients["end_ors"] + shift)
    result = benchmark(dataclasses.replace(practice, clients=clients), norms)
    assert result.verdict == verdict
    html = build_benchmark_report(result, out=tmp_path, pdf=False).html.read_text("utf-8")
    assert VERDICTS[verdict].format(body="sample") in page_text(html)
    low, high = result.standing["ci_low"], result.standing["ci_high"]
    assert (low > 0) if verdict == "above" else (high < 0)


def test_no_code_name_reaches_the_page(page):
    result, _, html = page
    text = page_text(html)
    keys = set(result.clients.columns) | set(result.by_band.columns) | set(
        result.flags.columns) | set(result.standing) | set(result.alliance) | set(
        result.change.effect_sizes["measure"]) | {"above 95 % limit", "within limits"}
    found = sorted(k for k in keys if "_" in k or " " in k
                   if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text))
    assert found == []
    assert re.findall(r"\b[a-z]+_[a-z_]+\b", text) == []


def test_aggregates_of_fewer_than_k_clients_are_withheld(norms, c001, tmp_path):
    practice = c001
    done = practice.clients["end_ors"].notna()
    keep = practice.clients[~done | (done.cumsum() <= 4)].reset_index(drop=True)
    few = dataclasses.replace(practice, clients=keep, sessions=None)
    result = benchmark(few, norms)
    assert result.n_complete == 4 and result.standing is not None  # the API still says
    report = build_benchmark_report(result, out=tmp_path, pdf=False)
    text = page_text(report.html.read_text(encoding="utf-8"))
    assert "Not enough yet to set your clients beside other coaches" in text
    assert "No standing among coaches can be estimated yet" in text
    for key in ("raw", "estimate", "ci_low", "ci_high"):
        assert f"{abs(result.standing[key]):.1f}" not in text.replace("4.0", "")
    log = report.disclosure.log
    small = log[log["n"].between(1, 4) & ~log["rule"].isin(["one of your own clients"])]
    assert small["withheld"].all() and len(small) > 0
    assert "4 finished clients" not in text and "4 of your" not in text


def test_two_runs_write_the_same_page(sample, norms, tmp_path):
    result = benchmark(practice_from_study(sample, "C002"), norms)
    first = build_benchmark_report(result, out=tmp_path / "a", pdf=False)
    again = benchmark(practice_from_study(sample, "C002"), norms)
    second = build_benchmark_report(again, out=tmp_path / "b", pdf=False)
    assert first.html.read_bytes() == second.html.read_bytes()
    assert pd.DataFrame(first.disclosure.log).equals(pd.DataFrame(second.disclosure.log))
