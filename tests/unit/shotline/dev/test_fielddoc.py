"""A settings field reads in the configuration table the way a TOML or environment user
writes it."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from shotline.dev.fielddoc import default_text, type_text


class Mode(StrEnum):
    ON = "on"
    OFF = "off"


class Example(BaseModel):
    port: int = Field(default=8080, ge=0, le=65535)
    ratio: float = Field(default=0.5, gt=0, lt=1)
    folder: Path = Field(default_factory=lambda: Path.home() / ".cache" / "x")
    key: SecretStr | None = None
    mode: Mode = Mode.ON
    style: Literal["path", "virtual"] | None = None
    names: tuple[str, ...] = ("*",)
    budgets: dict[str, Decimal] = Field(default_factory=dict)
    prefix: str = ""
    flag: bool = False
    url: str


def _field(name: str) -> tuple[str, str]:
    field = Example.model_fields[name]
    return type_text(field), default_text(field)


def test_bounds_are_written_as_comparisons() -> None:
    assert _field("port") == ("int (≥ 0, ≤ 65535)", "`8080`")
    assert _field("ratio") == ("float (> 0, < 1)", "`0.5`")


def test_optional_values_read_as_unset() -> None:
    assert _field("key") == ("secret or unset", "unset")
    assert _field("style") == ("`path` \\| `virtual` or unset", "unset")


def test_choices_lists_and_tables_use_toml_words() -> None:
    assert _field("mode") == ("`on` \\| `off`", "`on`")
    assert _field("names") == ("list of string", '`["*"]`')
    assert _field("budgets") == ("table of decimal", "`{}`")
    assert _field("flag") == ("bool", "`false`")
    assert _field("prefix") == ("string", "empty")
    assert _field("url") == ("string", "required")


def test_a_default_under_the_home_folder_is_written_with_a_tilde() -> None:
    assert _field("folder") == ("path", "`~/.cache/x`")
