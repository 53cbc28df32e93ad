"""``shotline topics create|list``: every topic, created idempotently with explicit specs."""

from __future__ import annotations

import asyncio

import typer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from rich.console import Console

from schemas import KafkaSettings, TopicSpec
from shotline.errors import TopicsError
from shotline.kafka_check import check_kafka
from shotline.settings import load_settings

__all__ = ["app", "ensure_topics"]

app = typer.Typer(help="Create and inspect shotline's Kafka topics.", no_args_is_help=True)
console = Console(stderr=True)


async def ensure_topics(kafka: KafkaSettings, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        for spec in missing:
            topic = NewTopic(
                spec.name, spec.partitions, spec.replication, topic_configs=spec.config
            )
            response = await admin.create_topics([topic])
            # The broker answers per topic: an error code, not an exception.
            for name, code, *message in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    continue  # another process created it meanwhile, or our listing was stale
                if code:
                    detail = message[0] if message and message[0] else for_code(code).__name__
                    raise TopicsError(f"cannot create topic {name}: {detail}")
                created.append(name)
        await _until_visible(admin, created)
        return created
    finally:
        await admin.close()


async def _until_visible(
    admin: AIOKafkaAdminClient, names: list[str], timeout_s: float = 10.0
) -> None:
    """Wait until the brokers' metadata shows every partition of ``names``: the controller
    answers CreateTopics before every broker has the topic, and whatever starts next (a
    producer, ``describe_topics``) should not see it half made."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while names:
        described = await admin.describe_topics(names)
        if all(t["error_code"] == 0 and t["partitions"] for t in described):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TopicsError(f"topics not visible after {timeout_s:.0f} s: {', '.join(names)}")
        await asyncio.sleep(0.1)


async def broker_count(kafka: KafkaSettings) -> int:
    """How many brokers the cluster has (from the metadata of a bootstrap broker)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        return max(1, len(cluster["brokers"]))
    finally:
        await admin.close()


@app.command()
def create(
    partitions: int = typer.Option(6, min=1, help="Partitions of each event topic."),
    replication: int | None = typer.Option(
        None,
        min=1,
        envvar="SHOTLINE_TOPICS_REPLICATION",
        help="Replication factor [env SHOTLINE_TOPICS_REPLICATION; default: the cluster's "
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
