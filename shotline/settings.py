"""Settings for every unit, read once in the composition root and passed down.

Environment variables ``SHOTLINE_<UNIT>_<FIELD>`` (e.g. ``SHOTLINE_KAFKA_BOOTSTRAP``) override
the optional TOML file named by ``SHOTLINE_CONFIG``, which overrides the defaults. The TOML
file holds the projects table (``[projects.<key>]``) and may set any unit's section.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.settings import IngestSettings
from processors.metrics.settings import MetricsSettings
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings, ProjectConfig
from shotline.console.settings import ConsoleSettings
from shotline.dev.settings import DevSettings
from shotline.errors import SettingsError
from shotline.kafka_auth import resolve_token_provider

__all__ = ["Settings", "load_settings", "processor_section", "processor_settings"]


CONFIG_ENV = "SHOTLINE_CONFIG"


class Settings(BaseSettings):
    """The whole configuration tree; one section per unit."""

    model_config = SettingsConfigDict(
        env_prefix="SHOTLINE_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    config: Path | None = Field(default=None, description="Path of the TOML config file.")
    kafka: KafkaSettings = KafkaSettings()
    ingest: IngestSettings = IngestSettings()
    dev: DevSettings = DevSettings()
    console: ConsoleSettings = ConsoleSettings()
    metrics: MetricsSettings = MetricsSettings()
    processors: RunnerSettings = RunnerSettings()
    projects: dict[str, ProjectConfig] = Field(default_factory=dict)
    moderation: dict[str, Any] = Field(
        default_factory=dict, description="[moderation.providers.<name>]: the moderate section."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


# Built-in processors whose section sits at the root of the configuration: ``[metrics]`` is the
# documented spelling (``shotline usage`` reads it too). ``[processors.sections.metrics]`` is
# deprecated: still read, and still winning, with a warning.
_ROOT_PROCESSOR_SECTIONS = frozenset({"metrics"})
_ROOT_RAW_SECTIONS = {"moderate": "moderation"}  # processor name → raw root table


def processor_section(settings: Settings, name: str) -> dict[str, Any]:
    """A processor's raw settings table before environment overrides: its root section
    (only ``[metrics]``, fields explicitly set), then ``[processors.sections.<name>]``."""
    section: dict[str, Any] = {}
    if name in _ROOT_PROCESSOR_SECTIONS:
        root = getattr(settings, name)
        section.update(root.model_dump(mode="json", exclude_unset=True))
        if settings.processors.sections.get(name):
            warnings.warn(
                f"[processors.sections.{name}] is deprecated: move its keys to [{name}] "
                f"(read by `shotline usage` too); until then they still apply and win",
                FutureWarning,
                stacklevel=2,
            )
    if name in _ROOT_RAW_SECTIONS:
        section.update(getattr(settings, _ROOT_RAW_SECTIONS[name]))
    section.update(settings.processors.sections.get(name, {}))
    return section


def processor_settings(
    name: str, model: type[BaseModel], section: Mapping[str, Any]
) -> dict[str, Any]:
    """A processor's settings: its TOML table ``section`` (``processor_section``) overlaid by
    ``SHOTLINE_<NAME>_<FIELD>``, both read by pydantic-settings against ``model`` (complex
    values as JSON); the fields that were set, as plain values. An invalid value, an unknown
    TOML key or a variable under the prefix that names no field raises ``SettingsError``
    naming the field and its variable."""
    prefix = f"SHOTLINE_{name.upper().replace('-', '_')}_"
    # pydantic-settings skips variables that name no field; a typo must not pass silently.
    unknown = sorted(
        key
        for key in os.environ
        if key.upper().startswith(prefix) and key[len(prefix) :].lower() not in model.model_fields
    )
    if unknown:
        raise SettingsError(f"invalid setting {name}: no such field for {', '.join(unknown)}")

    def env_over_toml(
        cls: type[BaseSettings],
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    reader = cast(
        "type[BaseSettings]",
        type(
            f"{model.__name__}FromEnvironment",
            (model, BaseSettings),
            {
                "model_config": SettingsConfigDict(env_prefix=prefix, case_sensitive=False),
                "settings_customise_sources": classmethod(env_over_toml),
            },
        ),
    )
    try:
        read = reader(**section)
    except ValidationError as exc:
        raise SettingsError(describe(exc, name)) from None
    return read.model_dump(exclude_unset=True)


def load_settings(**overrides: Any) -> Settings:
    """Read environment and TOML file; a missing or malformed file is a clear error, and an
    invalid value raises ``SettingsError`` naming the field and its environment variable.
    The Kafka OAUTHBEARER token provider, if any, is resolved here."""
    path = os.environ.get(CONFIG_ENV)
    if path and not Path(path).is_file():
        raise FileNotFoundError(f"{CONFIG_ENV}={path} does not name a readable file")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
    kafka = resolve_token_provider(settings.kafka)
    return settings if kafka is settings.kafka else settings.model_copy(update={"kafka": kafka})


def describe(exc: ValidationError, section: str | None = None) -> str:
    """One line per invalid field: ``kafka.security_protocol (SHOTLINE_KAFKA_SECURITY_PROTOCOL):
    Input should be ...``; ``section`` prefixes the locations of a section's own model. Input
    values are never shown (they may be secrets)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
        if section is not None:
            loc = [section.replace("-", "_"), *loc]
        field = ".".join(loc) or "settings"
        env = f" (SHOTLINE_{'_'.join(loc).upper()})" if len(loc) == 2 else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"invalid setting {field}{env}: {message}")
    return "\n".join(lines)
