"""``docs/configuration.md``, generated from the settings models' ``Field`` descriptions.

``python -m shotline.dev.configdoc`` (``make docs``) rewrites the page; ``--check`` exits 1
when the page on disk differs from what the models say (a unit test does the same). Each
section is one settings model: its TOML table, its environment prefix, and one row per
field with its type, default and description. A field without a description is an error:
every key a user can set says what it does.
"""

from __future__ import annotations

import argparse
import enum
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import annotated_types
import typer
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ingest.settings import IngestSettings
from processors.dedupe.settings import DedupeSettings
from processors.enrich.settings import EnrichSettings
from processors.metrics.pricing import PriceTable
from processors.metrics.settings import MetricsSettings, TallySettings
from processors.moderate.settings import (
    HttpProviderConfig,
    LocalProviderConfig,
    ModerateSettings,
    PluginProviderConfig,
    QuotaConfig,
    RekognitionProviderConfig,
)
from processors.runner.settings import RunnerSettings
from schemas.config import ProjectConfig
from schemas.kafka import KafkaSettings
from schemas.moderation import ActionWebhook, ProjectModeration
from shotline.dev.settings import DevSettings
from shotline.settings import CONFIG_ENV, Settings

__all__ = ["PAGE", "PROCESSOR_SECTIONS", "Section", "main", "render", "sections"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
REGENERATE = "make docs (python -m shotline.dev.configdoc)"


@dataclass(frozen=True, slots=True)
class Section:
    """One settings model as the user sees it: a TOML table and an environment prefix."""

    title: str
    table: str
    env_prefix: str | None  # None: the TOML file only
    model: type[BaseModel]
    note: str = ""
    exclude: frozenset[str] = frozenset()
    inherited_from: type[BaseModel] | None = None  # list only fields it adds or re-defaults


# Each built-in processor's settings model; a test checks that every built-in has an entry.
PROCESSOR_SECTIONS: dict[str, type[BaseModel]] = {
    "dedupe": DedupeSettings,
    "tally": TallySettings,
    "metrics": MetricsSettings,
    "enrich": EnrichSettings,
    "moderate": ModerateSettings,
}


def sections() -> list[Section]:
    """Every section of the configuration, in the order the page shows them."""
    return [
        Section(
            "Kafka connection",
            "[kafka]",
            "SHOTLINE_KAFKA_",
            KafkaSettings,
            "Every Kafka client shotline makes; see [kafka.md](kafka.md).",
        ),
        Section(
            "Ingest",
            "[ingest]",
            "SHOTLINE_INGEST_",
            IngestSettings,
            "`shotline ingest`; see [ingest.md](ingest.md).",
        ),
        Section(
            "Processor runner",
            "[processors]",
            "SHOTLINE_PROCESSORS_",
            RunnerSettings,
            "Every `shotline process`; see [processors.md](processors.md).",
            exclude=frozenset({"sections"}),
        ),
        Section(
            "dedupe",
            "[processors.sections.dedupe]",
            "SHOTLINE_DEDUPE_",
            DedupeSettings,
            "See [dedupe.md](dedupe.md).",
        ),
        Section(
            "Billing, stage 1: tally",
            "[processors.sections.tally]",
            "SHOTLINE_TALLY_",
            TallySettings,
            "See [billing.md](billing.md).",
        ),
        Section(
            "Billing, stage 2: metrics",
            "[metrics]",
            "SHOTLINE_METRICS_",
            MetricsSettings,
            "The `metrics` processor and `shotline usage` read the same values. "
            "`[processors.sections.metrics]` is read too and wins over `[metrics]`. "
            "See [billing.md](billing.md).",
            exclude=frozenset({"prices"}),
        ),
        Section(
            "Billing: the price table",
            "[metrics.prices]",
            None,
            PriceTable,
            "In the environment the whole table is one JSON object: "
            '`SHOTLINE_METRICS_PRICES=\'{"free_qps": 500, "qps_usd": "1.5"}\'`.',
        ),
        Section(
            "enrich",
            "[processors.sections.enrich]",
            "SHOTLINE_ENRICH_",
            EnrichSettings,
            "See [enrichment.md](enrichment.md).",
        ),
        Section(
            "moderate",
            "[processors.sections.moderate]",
            "SHOTLINE_MODERATE_",
            ModerateSettings,
            "See [moderation.md](moderation.md).",
            exclude=frozenset({"providers"}),
        ),
        Section(
            "Moderation providers: every kind",
            "[moderation.providers.<name>]",
            None,
            QuotaConfig,
            "The quota guard every provider gets. `kind` picks the provider; a provider "
            "named `local` exists unless the file redefines it.",
        ),
        Section(
            'Moderation provider `kind = "http"`',
            "[moderation.providers.<name>]",
            None,
            HttpProviderConfig,
            inherited_from=QuotaConfig,
        ),
        Section(
            'Moderation provider `kind = "rekognition"`',
            "[moderation.providers.<name>]",
            None,
            RekognitionProviderConfig,
            inherited_from=QuotaConfig,
        ),
        Section(
            'Moderation provider `kind = "local"`',
            "[moderation.providers.<name>]",
            None,
            LocalProviderConfig,
            "Needs the `moderation-local` extra.",
            inherited_from=QuotaConfig,
        ),
        Section(
            'Moderation provider `kind = "package.module:factory"`',
            "[moderation.providers.<name>]",
            None,
            PluginProviderConfig,
            inherited_from=QuotaConfig,
        ),
        Section(
            "Projects",
            "[projects.<key>]",
            None,
            ProjectConfig,
            "One table per Agora project; `<key>` is the last segment of the callback "
            "URL (`/v1/callbacks/<key>`).",
            exclude=frozenset({"moderation"}),
        ),
        Section(
            "Project moderation routing",
            "[projects.<key>.moderation]",
            None,
            ProjectModeration,
            exclude=frozenset({"action_webhook"}),
        ),
        Section(
            "Project action webhook",
            "[projects.<key>.moderation.action_webhook]",
            None,
            ActionWebhook,
            "Called on a `block` verdict; see [moderation.md](moderation.md).",
        ),
        Section(
            "Local services",
            "[dev]",
            "SHOTLINE_DEV_",
            DevSettings,
            "`shotline dev up|run`, the tests and the bench; see [development.md](development.md).",
        ),
    ]


_HEAD = f"""\
# Configuration

<!-- Generated by `{REGENERATE}` from the settings models' Field
descriptions. Do not edit by hand: change the model and regenerate. -->

Settings come from environment variables `SHOTLINE_<UNIT>_<FIELD>`, which override an
optional TOML file named by `{CONFIG_ENV}`, which overrides the defaults. The TOML file holds
the projects and may set any section below with the keys listed. A misspelt key in the TOML
file, or a misspelt field of a known unit (`SHOTLINE_INGEST_PROT`), stops the command with one
line naming it; a variable whose unit is unknown (`SHOTLINE_INGES_PORT`) cannot be told apart
from a third-party processor's section and is ignored. Values given in the environment may be
JSON (lists, tables). Secrets are never logged or printed.

A processor's section is `[processors.sections.<name>]`, overlaid by
`SHOTLINE_<NAME>_<FIELD>`; a third-party processor reads its own section the same way.

```toml
[projects.k7Qx3vR9bLm2]          # the key in the callback URL: /v1/callbacks/k7Qx3vR9bLm2
callback_addr = "https://hooks.example.com/v1/callbacks/k7Qx3vR9bLm2"  # as in Agora Console
checksum = "enforce"
bucket = "acme-screenshots"

[kafka]
bootstrap = "broker-1:9092,broker-2:9092"

[processors.sections.dedupe]
window_s = 86400
```

In production a project key must be long and random (e.g. `python -c 'import secrets;
print(secrets.token_urlsafe(24))'`): the checksum has no secret, so the unguessable key in the
URL is what shows that a callback came from whoever was given the URL.

| Environment | Type | Default | Description |
|---|---|---|---|
| `{CONFIG_ENV}` | path | unset | {Settings.model_fields["config"].description} |
"""


def render() -> str:
    """The whole page, from the models and the CLI's environment-backed options."""
    parts = [_HEAD]
    for section in sections():
        parts.append(_section(section))
    parts.append(_cli_section())
    return "\n".join(parts)


def _section(section: Section) -> str:
    lines = [f"## {section.title}", "", f"TOML `{section.table}`"]
    if section.env_prefix:
        lines[-1] += f", environment `{section.env_prefix}<FIELD>`"
    lines[-1] += "."
    if section.note:
        lines[-1] += " " + section.note
    lines += ["", "| Key | Environment | Type | Default | Description |", "|---|---|---|---|---|"]
    for name, field in section.model.model_fields.items():
        if name in section.exclude or not _listed(section, name, field):
            continue
        env = f"`{section.env_prefix}{name.upper()}`" if section.env_prefix else "—"
        lines.append(
            f"| `{name}` | {env} | {_type(field)} | {_default(field)} | "
            f"{_description(section, name, field)} |"
        )
    lines.append("")
    return "\n".join(lines)


def _listed(section: Section, name: str, field: FieldInfo) -> bool:
    parent = section.inherited_from
    if parent is None or name not in parent.model_fields:
        return True
    return _default(parent.model_fields[name]) != _default(field)


def _description(section: Section, name: str, field: FieldInfo) -> str:
    text = field.description
    parent = section.inherited_from
    if not text and parent is not None and name in parent.model_fields:
        text = parent.model_fields[name].description
    if not text:
        raise ValueError(f"{section.model.__name__}.{name} has no Field description")
    return text.replace("|", "\\|").replace("\n", " ")


def _type(field: FieldInfo) -> str:
    text = _annotation(field.annotation)
    bounds = [_bound(item) for item in field.metadata]
    bounds = [b for b in bounds if b]
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _bound(item: object) -> str:
    for kind, attr, symbol in (
        (annotated_types.Ge, "ge", "≥"),
        (annotated_types.Gt, "gt", ">"),
        (annotated_types.Le, "le", "≤"),
        (annotated_types.Lt, "lt", "<"),
    ):
        if isinstance(item, kind):
            return f"{symbol} {getattr(item, attr)}"
    if isinstance(item, annotated_types.MinLen):
        return f"at least {item.min_length}"
    pattern = getattr(item, "pattern", None)
    return f"matches `{pattern}`" if isinstance(pattern, str) else ""


_NAMES: dict[object, str] = {
    int: "int",
    float: "float",
    str: "string",
    bool: "bool",
    Path: "path",
    Decimal: "decimal",
    SecretStr: "secret",
    object: "any",
}


def _annotation(tp: object) -> str:
    if tp in _NAMES:
        return _NAMES[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{_json(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        text = " \\| ".join(_annotation(a) for a in rest)
        return f"{text} or unset" if len(rest) < len(args) else text
    if origin is tuple or origin is list:
        return f"list of {_annotation(args[0])}"
    if origin is dict:
        return f"table of {_annotation(args[1])}"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table"
    raise ValueError(f"no documentation name for type {tp!r}")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, Path) and value.is_absolute() and Path.home() in value.parents:
        return f"`~/{value.relative_to(Path.home())}`"
    if isinstance(value, BaseModel):
        return "see below" if value.model_fields_set == set() else f"`{value!r}`"
    if isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(f"`{k}`" for k in value) or "`{}`"
    if value == "":
        return "empty"
    return f"`{_json(value)}`"


def _json(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else _json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    return str(value)


def _cli_section() -> str:
    """Command-line options that also read an environment variable (their ``envvar``)."""
    from shotline.cli import app  # the CLI tree, imported only to list its options

    rows: list[str] = []

    def walk(command: Any, path: str) -> None:
        # duck-typed: typer builds the tree from its own vendored copy of click
        for param in command.params:
            envvars = getattr(param, "envvar", None)
            if param.param_type_name != "option" or not envvars:
                continue
            for env in [envvars] if isinstance(envvars, str) else envvars:
                default = "unset" if param.default is None else f"`{param.default}`"
                help_ = (param.help or "").replace("|", "\\|")
                rows.append(f"| `{env}` | `{path} {param.opts[0]}` | {default} | {help_} |")
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "shotline")
    lines = [
        "## Command-line options read from the environment",
        "",
        "Not part of the settings tree: each is one option of one command.",
        "",
        "| Environment | Option | Default | Help |",
        "|---|---|---|---|",
        *rows,
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="Exit 1 if the page is stale.")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if PAGE.read_text() != text:
            print(f"{PAGE} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
