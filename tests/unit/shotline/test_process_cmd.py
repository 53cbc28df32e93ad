"""The ``process`` and ``dlq`` verbs: per-processor env sections and the built-in list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shotline.cli import app
from shotline.process_cmd import _since, env_section
from shotline.settings import load_settings


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


def test_runner_settings_come_from_env_and_sections_from_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "shotline.toml"
    config.write_text(
        "[processors]\nretry_attempts = 5\n\n[processors.sections.dedupe]\nwindow_s = 600\n"
    )
    monkeypatch.setenv("SHOTLINE_CONFIG", str(config))
    monkeypatch.setenv("SHOTLINE_PROCESSORS_BATCH_MAX_RECORDS", "40")
    settings = load_settings()
    assert settings.processors.batch_max_records == 40
    assert settings.processors.retry_attempts == 5
    assert settings.processors.sections == {"dedupe": {"window_s": 600}}


def test_since_accepts_relative_durations_and_iso_times_in_utc() -> None:
    ago = _since("2h")
    assert ago is not None
    assert timedelta(hours=2) - (datetime.now(UTC) - ago) < timedelta(seconds=5)
    assert _since("2026-03-01T12:00:00") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert _since(None) is None
    with pytest.raises(typer.BadParameter):
        _since("yesterday")


def test_toml_metrics_section_reaches_the_processor_and_sections_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotline.settings import processor_section

    config = tmp_path / "shotline.toml"
    config.write_text(
        "[metrics]\nallowed_lateness_s = 30\n[metrics.prices]\nfree_qps = 400\n"
        "[processors.sections.metrics]\nsnapshot_interval_s = 5\n"
        "[processors.sections.dedupe]\nwindow_s = 60\n"
    )
    monkeypatch.setenv("SHOTLINE_CONFIG", str(config))
    settings = load_settings()
    with pytest.warns(FutureWarning, match=r"\[processors.sections.metrics\] is deprecated"):
        metrics = processor_section(settings, "metrics")
    assert metrics["allowed_lateness_s"] == 30
    assert metrics["prices"]["free_qps"] == 400
    assert metrics["snapshot_interval_s"] == 5
    assert "budget_usd" not in metrics  # defaults stay the processor's own
    assert processor_section(settings, "dedupe") == {"window_s": 60}


def test_the_documented_metrics_section_reads_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    from shotline.settings import processor_section

    config = tmp_path / "shotline.toml"
    config.write_text(
        "[metrics]\nsnapshot_interval_s = 7\n[processors.sections.dedupe]\nwindow_s = 9\n"
    )
    monkeypatch.setenv("SHOTLINE_CONFIG", str(config))
    settings = load_settings()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert processor_section(settings, "metrics") == {"snapshot_interval_s": 7}
        assert processor_section(settings, "dedupe") == {"window_s": 9}


def test_processor_settings_read_toml_then_environment_with_pydantic_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.dedupe.settings import DedupeSettings
    from processors.metrics.settings import MetricsSettings
    from shotline.settings import processor_settings

    monkeypatch.setenv("SHOTLINE_DEDUPE_WINDOW_S", "600")
    monkeypatch.setenv("SHOTLINE_METRICS_PRICES", '{"free_qps": 300}')
    section = processor_settings("dedupe", DedupeSettings, {"window_s": 5, "buckets": 12})
    assert section == {"window_s": 600, "buckets": 12}  # the variable wins; defaults stay out
    assert DedupeSettings.model_validate(section).window_s == 600
    metrics = processor_settings("metrics", MetricsSettings, {"allowed_lateness_s": 30})
    assert MetricsSettings.model_validate(metrics).prices.free_qps == 300


def test_a_bad_processor_setting_names_the_field_and_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.dedupe.settings import DedupeSettings
    from shotline.errors import SettingsError
    from shotline.settings import processor_settings

    monkeypatch.setenv("SHOTLINE_DEDUPE_WINDOW_S", "soon")
    with pytest.raises(SettingsError, match=r"dedupe.window_s \(SHOTLINE_DEDUPE_WINDOW_S\)"):
        processor_settings("dedupe", DedupeSettings, {})
    monkeypatch.delenv("SHOTLINE_DEDUPE_WINDOW_S")
    with pytest.raises(SettingsError, match=r"dedupe.no_such_key"):
        processor_settings("dedupe", DedupeSettings, {"no_such_key": 1})
    monkeypatch.setenv("SHOTLINE_DEDUPE_WINDOWS", "600")  # a typo fails, as before
    with pytest.raises(SettingsError, match="SHOTLINE_DEDUPE_WINDOWS"):
        processor_settings("dedupe", DedupeSettings, {})


def test_process_stops_on_a_bad_processor_setting_before_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shotline.cli import main

    monkeypatch.setenv("SHOTLINE_DEDUPE_WINDOW_S", "soon")
    monkeypatch.setattr("sys.argv", ["shotline", "process", "dedupe", "--port", "0"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
