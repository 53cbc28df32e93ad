"""``docs/configuration.md``, generated from the settings models' ``Field`` descriptions.

``python -m shotline.dev.configdoc`` (``make docs``) rewrites the page; ``--check`` exits 1
when the page on disk differs from what the models say (a unit test does the same). Each
section is one settings model: its TOML table, its environment prefix, and one row per
field with its type, default and description. A field without a description is an error:
every key a user can set says what it does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

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
from shotline.console.settings import ConsoleSettings, Reviewer
from shotline.dev.fielddoc import default_text, type_text
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
    unit: str | None  # SHOTLINE_<UNIT>_<FIELD>; None: the TOML file only
    model: type[BaseModel]
    exclude: tuple[str, ...] = ()  # fields documented in a section of their own
    inherited_from: type[BaseModel] | None = None  # list only fields it adds or re-defaults

    @property
    def env_prefix(self) -> str | None:
        return f"SHOTLINE_{self.unit}_" if self.unit else None

    @property
    def note(self) -> str:
        return _NOTES.get(self.title, "")


# Each built-in processor's settings model; a test checks that every built-in has an entry.
PROCESSOR_SECTIONS: dict[str, type[BaseModel]] = {
    "dedupe": DedupeSettings,
    "tally": TallySettings,
    "metrics": MetricsSettings,
    "enrich": EnrichSettings,
    "moderate": ModerateSettings,
}

_PROVIDER = "[moderation.providers.<name>]"
_KIND = "Moderation provider `kind = {}`"


def sections() -> list[Section]:
    """Every section of the configuration, in the order the page shows them."""
    s, quota = Section, QuotaConfig
    return [
        s("Kafka connection", "[kafka]", "KAFKA", KafkaSettings),
        s("Ingest", "[ingest]", "INGEST", IngestSettings),
        s("Processor runner", "[processors]", "PROCESSORS", RunnerSettings, ("sections",)),
        s("dedupe", "[processors.sections.dedupe]", "DEDUPE", DedupeSettings),
        s("Billing, stage 1: tally", "[processors.sections.tally]", "TALLY", TallySettings),
        s("Billing, stage 2: metrics", "[metrics]", "METRICS", MetricsSettings, ("prices",)),
        s("Billing: the price table", "[metrics.prices]", None, PriceTable),
        s("enrich", "[processors.sections.enrich]", "ENRICH", EnrichSettings),
        s("moderate", "[processors.sections.moderate]", "MODERATE", ModerateSettings,
          ("providers",)),
        s("Moderation providers: every kind", _PROVIDER, None, quota),
        s(_KIND.format('"http"'), _PROVIDER, None, HttpProviderConfig, inherited_from=quota),
        s(_KIND.format('"rekognition"'), _PROVIDER, None, RekognitionProviderConfig,
          inherited_from=quota),
        s(_KIND.format('"local"'), _PROVIDER, None, LocalProviderConfig, inherited_from=quota),
        s(_KIND.format('"package.module:factory"'), _PROVIDER, None, PluginProviderConfig,
          inherited_from=quota),
        s("Projects", "[projects.<key>]", None, ProjectConfig, ("moderation",)),
        s("Project moderation routing", "[projects.<key>.moderation]", None, ProjectModeration,
          ("action_webhook",)),
        s("Project action webhook", "[projects.<key>.moderation.action_webhook]", None,
          ActionWebhook),
        s("Review console", "[console]", "CONSOLE", ConsoleSettings, ("reviewers",)),
        s("Console reviewers", "[console.reviewers.<name>]", None, Reviewer),
        s("Local services", "[dev]", "DEV", DevSettings),
    ]  # fmt: skip


_NOTES = {
    "Kafka connection": "Every Kafka client shotline makes; see [kafka.md](kafka.md).",
    "Ingest": "`shotline ingest`; see [ingest.md](ingest.md).",
    "Processor runner": "Every `shotline process`; see [processors.md](processors.md).",
    "dedupe": "See [dedupe.md](dedupe.md).",
    "Billing, stage 1: tally": "See [billing.md](billing.md).",
    "Billing, stage 2: metrics": "The `metrics` processor and `shotline usage` read the same "
    "values. `[processors.sections.metrics]` is deprecated: still read (and winning over "
    "`[metrics]`), with a FutureWarning. See [billing.md](billing.md).",
    "Billing: the price table": "In the environment the whole table is one JSON object: "
    '`SHOTLINE_METRICS_PRICES=\'{"free_qps": 500, "qps_usd": "1.5"}\'`.',
    "enrich": "See [enrichment.md](enrichment.md).",
    "moderate": "See [moderation.md](moderation.md).",
    "Review console": "`shotline console`; see [console.md](console.md).",
    "Moderation providers: every kind": "The quota guard every provider gets. `kind` picks the "
    "provider; a provider named `local` exists unless the file redefines it.",
    _KIND.format('"local"'): "Needs the `moderation-local` extra.",
    "Projects": "One table per Agora project; `<key>` is the last segment of the callback URL "
    "(`/v1/callbacks/<key>`).",
    "Project action webhook": "Called on a `block` verdict; see [moderation.md](moderation.md).",
    "Local services": "`shotline dev up|run`, the tests and the bench; see "
    "[development.md](development.md).",
}


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
            f"| `{name}` | {env} | {type_text(field)} | {default_text(field)} | "
            f"{_description(section, name, field)} |"
        )
    lines.append("")
    return "\n".join(lines)


def _listed(section: Section, name: str, field: FieldInfo) -> bool:
    parent = section.inherited_from
    if parent is None or name not in parent.model_fields:
        return True
    return default_text(parent.model_fields[name]) != default_text(field)


def _description(section: Section, name: str, field: FieldInfo) -> str:
    text = field.description
    parent = section.inherited_from
    if not text and parent is not None and name in parent.model_fields:
        text = parent.model_fields[name].description
    if not text:
        raise ValueError(f"{section.model.__name__}.{name} has no Field description")
    return text.replace("|", "\\|").replace("\n", " ")


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
