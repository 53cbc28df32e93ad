"""``shotline topics create|list``: every topic, created idempotently with explicit specs."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from processors.errors import TopicSetupError
from processors.runner.topics import REPLICATION_ENV, broker_count, create_topics
from schemas import KafkaSettings, TopicSpec
from shotline.errors import TopicsError
from shotline.kafka_check import check_kafka
from shotline.settings import load_settings

__all__ = ["app", "ensure_topics"]

app = typer.Typer(help="Create and inspect shotline's Kafka topics.", no_args_is_help=True)
console = Console(stderr=True)


async def ensure_topics(kafka: KafkaSettings, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created. A refused or
    invisible topic raises ``TopicsError`` (``processors.runner.topics`` does the work)."""
    try:
        return await create_topics(kafka, specs)
    except TopicSetupError as exc:
        raise TopicsError(str(exc)) from exc


@app.command()
def create(
    partitions: int = typer.Option(6, min=1, help="Partitions of each event topic."),
    replication: int | None = typer.Option(
        None,
        min=1,
        envvar=REPLICATION_ENV,
        help=f"Replication factor [env {REPLICATION_ENV}; default: the cluster's "
        "broker count, at most 3].",
    ),
) -> None:
    """Create every shotline topic that does not exist yet (safe to repeat).

    Event topics keep 7 days, the DLQ 30 days, and shotline.usage.v1 is compacted.
    """
    kafka = load_settings().kafka
    check_kafka(kafka)
    if replication is None:
        replication = min(asyncio.run(broker_count(kafka)), 3)
    specs = kafka.topics.specs(partitions=partitions, replication=replication)
    try:
        created = asyncio.run(ensure_topics(kafka, specs))
    except TopicsError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        console.print(f"{state:8} {spec.name}  partitions={spec.partitions}  {spec.config}")


@app.command("list")
def list_topics() -> None:
    """Print the topic names this configuration uses."""
    for spec in load_settings().kafka.topics.specs():
        typer.echo(spec.name)
