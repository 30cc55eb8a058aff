"""Settings from a file and the environment; `outcomes serve` and its missing extra."""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from outcomes._errors import UsageError
from outcomes.cli import main
from outcomes.web.config import WebConfig, load_config


def test_the_environment_wins_over_the_file_and_options_over_both(tmp_path):
    file = tmp_path / "web.toml"
    file.write_text('[web]\nport = 9000\nmax_jobs = 4\nreport_pdf = false\nhost = "0.0.0.0"\n')
    config = load_config(file, environ={"OUTCOMES_WEB_MAX_JOBS": "6"}, port=9100)
    assert (config.port, config.max_jobs, config.report_pdf, config.host) == (
        9100, 6, False, "0.0.0.0")
    assert not config.loopback
    again = load_config(environ=config.to_environment())
    assert again == config


@pytest.mark.parametrize("environ, said", [
    ({"OUTCOMES_WEB_MAX_JOBS": "many"}, "not a whole number"),
    ({"OUTCOMES_WEB_MAX_FILES": "0"}, "above 0"),
    ({"OUTCOMES_WEB_TOKEN": "short"}, "at least 16"),
    ({"OUTCOMES_WEB_PROXY": "perhaps"}, "not true or false"),
])
def test_a_wrong_setting_says_which_and_how(environ, said):
    with pytest.raises(UsageError, match=said):
        load_config(environ=environ)


def test_an_unknown_key_in_the_file_is_named(tmp_path):
    file = tmp_path / "web.toml"
    file.write_text("max_job = 3\n")
    with pytest.raises(UsageError, match="max_job"):
        load_config(file, environ={})


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'outcomes[web]'" in result.output and "Traceback" not in result.output


def test_serve_refuses_a_norms_file_it_cannot_read(tmp_path):
    bad = tmp_path / "norms.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(main, ["serve", "--norms", str(bad)])
    assert result.exit_code in (1, 2) and "norms.json" in result.output
    assert WebConfig().host == "127.0.0.1"  # the default serves this computer only


def test_every_setting_is_in_the_bodies_guide():
    from dataclasses import fields
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "web-bodies.md").read_text()
    missing = [f.name for f in fields(WebConfig) if f"`{f.name}`" not in guide]
    assert missing == [], f"docs/web-bodies.md does not describe {missing}"
