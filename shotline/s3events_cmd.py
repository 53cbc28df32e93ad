"""``shotline s3-events``: the SQS → Kafka bridge for S3 ObjectCreated notifications.

On AWS, S3 delivers bucket notifications to SQS (or SNS, Lambda, EventBridge), never to
Kafka. This bridge long-polls the queue with boto3 (``receive_message``, 10 messages, 20 s
wait), publishes each event record to ``shotline.s3events.v1`` (key ``bucket/key``, value a
one-record S3 event document) through the runner's ``AtLeastOnceSink`` (an idempotent
``acks=all`` producer, a 60 s deadline per batch of sends), and deletes the
messages (``delete_message_batch``) only after Kafka acknowledged every record of them. A
crash between the two re-delivers the message after its visibility timeout: duplicates on
the topic, which enrich tolerates, never a loss. A body that is not an S3 notification is
counted and left in the queue (give the queue a redrive policy to park it).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from prometheus_client import CollectorRegistry, Counter, start_http_server

from processors.errors import SinkError
from processors.objectstore import sqs_client
from processors.runner.codec import Encoded
from processors.runner.sink import AtLeastOnceSink, OutputSink
from schemas import KafkaSettings
from schemas.s3event import split_notification
from shotline.kafka_check import check_kafka
from shotline.settings import load_settings

__all__ = ["Bridge", "s3_events"]

log = logging.getLogger("shotline.s3events")


class Bridge:
    """One queue to one topic; ``run`` until ``stop`` is set. ``sink``: where the records go
    (default an ``AtLeastOnceSink``, built in ``run``: aiokafka needs the running loop;
    tests pass one in memory)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        sqs: Any,
        queue_url: str,
        wait_s: int = 20,
        sink: OutputSink | None = None,
    ) -> None:
        self._kafka = kafka
        self._sink = sink
        self._sqs = sqs
        self.queue_url = queue_url
        self.topic = kafka.topics.s3events
        self._wait_s = wait_s
        self.sent = 0
        self.registry = CollectorRegistry()
        self.counts = Counter(
            "shotline_s3events_messages_total",
            "SQS messages by outcome (published, invalid, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.published = Counter(
            "shotline_s3events_published_total",
            "S3 event records published to Kafka.",
            registry=self.registry,
        )

    async def run(self, stop: asyncio.Event, pollers: int = 2) -> None:
        sink = self._sink = self._sink or AtLeastOnceSink(self._kafka)
        await sink.start()
        try:
            await asyncio.gather(*(self._poll(stop) for _ in range(pollers)))
        finally:
            await sink.stop()

    async def _poll(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                answer = await asyncio.to_thread(
                    self._sqs.receive_message,
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=self._wait_s,
                )
                messages = answer.get("Messages", [])
                if messages:
                    await self._forward(messages)
            except (BotoCoreError, ClientError) as exc:  # messages stay in SQS
                log.warning("s3-events: %s: %s (retrying in 2 s)", type(exc).__name__, exc)
                await asyncio.sleep(2)

    async def _forward(self, messages: list[dict[str, Any]]) -> None:
        assert self._sink is not None, "run() builds the sink"
        sends: list[Encoded] = []
        done: list[dict[str, Any]] = []
        for message in messages:
            records = split_notification(message.get("Body", ""))
            if records is None:
                self.counts.labels("invalid").inc()
                continue
            for key, value in records:
                sends.append(Encoded(self.topic, None, key.encode(), value, []))
            done.append(message)
        try:
            await self._sink.publish(sends)
        except SinkError as exc:
            log.warning("s3-events: Kafka did not acknowledge (%s); messages stay in SQS", exc)
            self.counts.labels("failed").inc(len(done))
            return
        self.published.inc(len(sends))
        self.sent += len(sends)
        if not done:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
        answer = await asyncio.to_thread(
            self._sqs.delete_message_batch, QueueUrl=self.queue_url, Entries=entries
        )
        failed = len(answer.get("Failed", []))
        self.counts.labels("published").inc(len(done) - failed)
        if failed:  # redelivered later: a duplicate on the topic, never a loss
            log.warning("s3-events: %d messages not deleted", failed)


def s3_events(
    sqs_queue_url: Annotated[
        str, typer.Option(help="The SQS queue S3 sends ObjectCreated notifications to.")
    ],
    project: Annotated[
        str | None,
        typer.Option(help="Project whose keys and region reach the queue (else the AWS chain)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of /metrics; 0 = none.")] = 0,
    pollers: Annotated[int, typer.Option(min=1, max=32, help="Concurrent long polls.")] = 2,
    wait_s: Annotated[int, typer.Option(min=0, max=20, help="Long-poll wait (s).")] = 20,
    duration: Annotated[
        float, typer.Option(help="Stop after this many seconds; 0 = until Ctrl-C.")
    ] = 0,
) -> None:
    """Bridge S3 event notifications from SQS to shotline.s3events.v1 (delete after ack)."""
    settings = load_settings()
    check_kafka(settings.kafka)  # bad credentials: one clear line and exit 2, not a hang
    config = None
    if project is not None:
        config = settings.projects.get(project)
        if config is None:
            typer.echo(f"error: unknown project {project!r}", err=True)
            raise typer.Exit(2)
    sqs = sqs_client(sqs_queue_url, config)
    try:
        sqs.get_queue_attributes(QueueUrl=sqs_queue_url, AttributeNames=["QueueArn"])
    except (BotoCoreError, ClientError) as exc:
        typer.echo(f"error: cannot reach {sqs_queue_url}: {exc}", err=True)
        raise typer.Exit(1) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    bridge = Bridge(settings.kafka, sqs, sqs_queue_url, wait_s)
    if port:
        start_http_server(port, registry=bridge.registry)
    asyncio.run(_main(bridge, pollers, duration))


async def _main(bridge: Bridge, pollers: int, duration: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    end = time.monotonic() + duration if duration else None

    async def progress() -> None:
        while not stop.is_set():
            left = 10.0 if end is None else min(10.0, max(0.0, end - time.monotonic()))
            await asyncio.sleep(left)
            log.info("s3-events: %d events published from %s", bridge.sent, bridge.queue_url)
            if end is not None and time.monotonic() >= end:
                stop.set()

    ticker = asyncio.create_task(progress())
    try:
        await bridge.run(stop, pollers)
    finally:
        ticker.cancel()
