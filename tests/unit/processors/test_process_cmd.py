"""The ``process`` and ``dlq`` verbs: per-processor env sections and the built-in list."""

from __future__ import annotations

from typer.testing import CliRunner

from shotline.cli import app
from shotline.process_cmd import env_section


def test_env_section_collects_the_processors_own_variables_and_parses_json() -> None:
    environ = {
        "SHOTLINE_DEDUPE_WINDOW_S": "3600",
        "SHOTLINE_DEDUPE_NAME": "plain text",
        "SHOTLINE_MY_PLUGIN_LIST": '["a", "b"]',
        "SHOTLINE_KAFKA_BOOTSTRAP": "x:1",
    }
    assert env_section("dedupe", environ) == {"window_s": 3600, "name": "plain text"}
    assert env_section("my-plugin", environ) == {"list": ["a", "b"]}


def test_process_list_shows_dedupe_with_its_group_and_guarantee() -> None:
    result = CliRunner().invoke(app, ["process", "--list"])
    assert result.exit_code == 0
    assert "dedupe\tshotline.callbacks.v1\tshotline-dedupe\texactly-once" in result.output


def test_process_with_an_unknown_name_exits_2_and_says_why() -> None:
    result = CliRunner().invoke(app, ["process", "no-such"])
    assert result.exit_code == 2
