"""docs/configuration.md is generated from the settings models and must match them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from processors.registry import BUILTINS
from shotline.dev import configdoc
from shotline.settings import Settings


def test_configuration_page_is_up_to_date() -> None:
    expected = configdoc.render()
    actual = configdoc.PAGE.read_text()
    assert actual == expected, (
        f"{configdoc.PAGE.name} is stale: the settings models changed. "
        f"Regenerate it with `{configdoc.REGENERATE}` and commit the result."
    )


def test_check_mode_reports_a_stale_page(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = tmp_path / "configuration.md"
    page.write_text("# Configuration\n\nold\n")
    monkeypatch.setattr(configdoc, "PAGE", page)
    assert configdoc.main(["--check"]) == 1
    assert "make docs" in capsys.readouterr().err
    assert configdoc.main([]) == 0
    assert configdoc.main(["--check"]) == 0


def test_every_root_section_of_the_settings_is_documented() -> None:
    tables = [section.table for section in configdoc.sections()]
    for name in Settings.model_fields.keys() - {"config"}:
        assert any(
            table.startswith(f"[{name}]") or table.startswith(f"[{name}.") for table in tables
        ), name
    assert "`SHOTLINE_CONFIG`" in configdoc.render()


def test_every_builtin_processor_has_its_settings_section() -> None:
    assert set(configdoc.PROCESSOR_SECTIONS) == set(BUILTINS)
    models = {section.model for section in configdoc.sections()}
    for name, model in configdoc.PROCESSOR_SECTIONS.items():
        assert model in models, name


def test_every_key_is_listed_with_its_environment_variable() -> None:
    page = configdoc.render()
    assert "| `bootstrap` | `SHOTLINE_KAFKA_BOOTSTRAP` | string | `127.0.0.1:9092` |" in page
    assert "| `sasl_oauth_token_provider` | `SHOTLINE_KAFKA_SASL_OAUTH_TOKEN_PROVIDER` |" in page
    assert "| `window_s` | `SHOTLINE_DEDUPE_WINDOW_S` | float (> 0) | `86400.0` |" in page
    assert "| `home` | `SHOTLINE_DEV_HOME` | path | `~/.cache/shotline` |" in page
    assert "| `SHOTLINE_TOPICS_REPLICATION` | `shotline topics create --replication` |" in page
    for section in configdoc.sections():
        for name in section.model.model_fields.keys() - set(section.exclude):
            if section.inherited_from is None:
                assert f"| `{name}` |" in page, (section.table, name)


def test_a_field_without_a_description_is_an_error() -> None:
    class Undocumented(BaseModel):
        documented: int = Field(default=1, description="Has one.")
        bare: int = 2

    section = configdoc.Section("t", "[t]", "T", Undocumented)
    with pytest.raises(ValueError, match=r"Undocumented\.bare has no Field description"):
        configdoc._section(section)
