"""``shotline process NAME... | --list`` and ``shotline dlq list|replay``.

Composition root for processors: reads settings once, builds each processor's ``Context``
(its section = TOML ``[metrics]`` for billing, then ``[processors.sections.<name>]``,
overlaid by env ``SHOTLINE_<NAME>_<FIELD>``, read by pydantic-settings against the
processor's ``settings_model``) and hands them to the runner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import typer
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.table import Table

from processors.errors import TopicReadError
from processors.registry import BUILTINS
from processors.runner import Context, FatalError, Runner, load_processor
from processors.runner.dlq import read_dead_letters, replay_dead_letters
from shotline.errors import KafkaUnreachable
from shotline.kafka_check import check_kafka
from shotline.settings import Settings, load_settings, processor_section, processor_settings

__all__ = ["dlq_app", "env_section", "register"]

console = Console(stderr=True)
dlq_app = typer.Typer(help="List and replay dead-lettered records.", no_args_is_help=True)


def env_section(name: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``SHOTLINE_<NAME>_<FIELD>=value`` pairs as ``{field: value}``; JSON values parsed. For a
    processor without ``settings_model`` (built-ins have one: ``settings.processor_settings``
    reads theirs with pydantic-settings)."""
    prefix = f"SHOTLINE_{name.upper().replace('-', '_')}_"
    section: dict[str, Any] = {}
    for key, raw in (os.environ if environ is None else environ).items():
        if key.startswith(prefix) and len(key) > len(prefix):
            try:
                value: Any = orjson.loads(raw)
            except orjson.JSONDecodeError:
                value = raw
            section[key[len(prefix) :].lower()] = value
    return section


def _contexts(settings: Settings, names: list[str]) -> list[tuple[Any, Context]]:
    registry = CollectorRegistry()
    units = []
    for spec in names:
        processor = load_processor(spec, BUILTINS)
        table = processor_section(settings, processor.name)
        model = getattr(processor, "settings_model", None)
        section = (
            processor_settings(processor.name, model, table)
            if model is not None
            else {**table, **env_section(processor.name)}  # a processor without a model
        )
        ctx = Context(
            kafka=settings.kafka, projects=settings.projects, registry=registry, settings=section
        )
        units.append((processor, ctx))
    return units


def process(
    names: Annotated[
        list[str] | None, typer.Argument(help="Built-in names or package.module:attr.")
    ] = None,
    list_: bool = typer.Option(False, "--list", help="Show the built-in processors."),
    port: int = typer.Option(9100, "--port", help="Port of /healthz and /metrics (0: any)."),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run processors, each in its consumer group shotline-<name>, until SIGTERM/SIGINT."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings()
    if list_:
        for name in sorted(BUILTINS):
            proc = load_processor(name, BUILTINS)
            mode = "exactly-once" if proc.exactly_once else "at-least-once"
            topic = proc.input_topic(settings.kafka.topics)
            group = settings.kafka.topics.group(name)
            typer.echo(f"{name}\t{topic}\t{group}\t{mode}\t{BUILTINS[name]}")
        return
    if not names:
        raise typer.BadParameter("name at least one processor, or use --list")
    try:
        units = _contexts(settings, names)
    except FatalError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        check_kafka(settings.kafka)  # bad credentials stop here; a broker still starting does not
    except KafkaUnreachable as exc:
        console.print(f"warning: {exc}; the processors wait for it")

    async def main() -> int:
        runner = Runner(units, settings.processors, port)
        runner.install_signal_handlers()
        return await runner.run()

    try:
        import uvloop

        code = uvloop.run(main())
    except ImportError:
        code = asyncio.run(main())
    raise typer.Exit(code)


_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def _since(text: str | None) -> datetime | None:
    """``2h``/``30m``/``7d`` ago, or an ISO-8601 time (UTC when it has no offset)."""
    if not text:
        return None
    match = _RELATIVE.match(text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return datetime.now(UTC) - timedelta(**{unit: int(match[1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--since {text!r}: use 30m, 2h, 7d or an ISO time") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _select(processor: str | None, since: str | None) -> list[Any]:
    settings = load_settings()
    check_kafka(settings.kafka)
    after = _since(since)
    try:
        letters = asyncio.run(read_dead_letters(settings.kafka))
    except TopicReadError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    return [
        s
        for s in letters
        if (processor is None or s.record.processor == processor)
        and (after is None or s.record.last_failure_at >= after)
    ]


@dlq_app.command("list")
def dlq_list(
    processor: str | None = typer.Option(None, "--processor", "-p"),
    since: str | None = typer.Option(None, "--since", help="30m, 2h, 7d or ISO time"),
    as_json: bool = typer.Option(False, "--json", help="One JSON record per line."),
) -> None:
    """Show dead-lettered records with their cause and source."""
    selected = _select(processor, since)
    if as_json:
        for s in selected:
            typer.echo(s.record.model_dump_json())
        return
    table = Table("dlq offset", "failed at", "processor", "source", "attempts", "error")
    for s in selected:
        r = s.record
        table.add_row(
            f"{s.partition}:{s.offset}",
            r.last_failure_at.isoformat(timespec="seconds"),
            r.processor,
            f"{r.source_topic}[{r.source_partition}]@{r.source_offset}",
            str(r.attempts),
            r.error,
        )
    Console().print(table)
    console.print(f"{len(selected)} dead letters")


@dlq_app.command("replay")
def dlq_replay(
    processor: str | None = typer.Option(None, "--processor", "-p"),
    since: str | None = typer.Option(None, "--since", help="30m, 2h, 7d or ISO time"),
    dry_run: bool = typer.Option(False, "--dry-run"),
) -> None:
    """Re-publish dead-lettered records to their source topic (after fixing the cause)."""
    selected = _select(processor, since)
    if dry_run:
        console.print(f"would replay {len(selected)} records")
        return
    settings = load_settings()
    try:
        count = asyncio.run(replay_dead_letters(settings.kafka, [s.record for s in selected]))
    except TopicReadError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"replayed {count} records")


def register(app: typer.Typer) -> None:
    """Add ``process`` and ``dlq`` to the root command."""
    app.command("process")(process)
    app.add_typer(dlq_app, name="dlq")
