"""The console's Kafka side: reads the verdicts, the screenshots and the decisions into the
``ReviewQueue``, and publishes decisions.

One consumer without a group (every console reads everything) is assigned every partition
of ``shotline.moderation.v1`` and ``shotline.screenshots.enriched.v1`` from ``window_h``
ago, and of the compacted ``shotline.moderation.decisions.v1`` from its beginning, then
follows them live. Decisions go out through an idempotent ``acks=all`` producer with a
deadline of their own, so a reviewer gets an answer even while Kafka is away.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from processors.runner.readback import ranges_since, reader, topic_partitions
from schemas import HEADER_PROJECT, EnrichedScreenshot, KafkaSettings
from schemas.decision import ReviewDecision
from schemas.errors import ShotlineError
from schemas.moderation import ModerationVerdict
from shotline.console.queue import ReviewQueue
from shotline.errors import PublishFailed

__all__ = ["DecisionLog", "Feed"]

log = logging.getLogger("shotline.console")


class Feed:
    def __init__(self, kafka: KafkaSettings, queue: ReviewQueue) -> None:
        self._kafka = kafka
        self._queue = queue
        topics = kafka.topics
        self._topics = (topics.moderation, topics.enriched, topics.moderation_decisions)
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        found = await topic_partitions(self._kafka, *self._topics)
        missing = [topic for topic in self._topics if not found[topic]]
        if missing:
            raise ShotlineError(f"topic {missing[0]} does not exist: run `shotline topics create`")
        tps = [TopicPartition(topic, p) for topic in self._topics for p in found[topic]]
        consumer = reader(self._kafka)
        await consumer.start()
        self._consumer = consumer
        try:
            consumer.assign(tps)
            since_ms = int((datetime.now(UTC) - self._queue.window).timestamp() * 1000)
            timed = [tp for tp in tps if tp.topic != self._topics[2]]
            spans = await ranges_since(consumer, timed, since_ms)
            for tp, (start, _) in spans.items():
                consumer.seek(tp, start)
            # the decisions topic is compacted: all of it is the history
            history = [tp for tp in tps if tp not in spans]
            await consumer.seek_to_beginning(*history)
            ends = await consumer.end_offsets(history)
            self._ends = ends | {tp: end for tp, (_, end) in spans.items()}
        except BaseException:
            await consumer.stop()
            self._consumer = None
            raise

    async def run(self) -> None:
        """Apply records until cancelled; ``caught_up`` is set once the backlog is read."""
        consumer = self._consumer
        assert consumer is not None, "start() first"
        pending = {tp: end for tp, end in self._ends.items() if end > 0}
        last_prune = 0.0
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            except KafkaError as exc:
                log.warning("console: reading Kafka failed (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            for tp, messages in batch.items():
                for msg in messages:
                    self._apply(tp.topic, msg.value, msg.timestamp)
            if not self.caught_up.is_set():
                for tp in list(pending):
                    if await consumer.position(tp) >= pending[tp]:
                        del pending[tp]
                if not pending:
                    self.caught_up.set()
            now = asyncio.get_running_loop().time()
            if now - last_prune > 60:
                self._queue.prune()
                last_prune = now

    def _apply(self, topic: str, value: bytes | None, timestamp_ms: int) -> None:
        if value is None:
            return
        verdicts, enriched, decisions = self._topics
        try:
            if topic == verdicts:
                at = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
                self._queue.add_verdict(ModerationVerdict.model_validate_json(value), at)
            elif topic == enriched:
                self._queue.add_facts(EnrichedScreenshot.model_validate_json(value))
            elif topic == decisions:
                self._queue.add_decision(ReviewDecision.model_validate_json(value))
        except ValidationError as exc:  # not ours to fix: the record stays where it is
            log.warning("console: skipped an invalid record of %s: %s", topic, exc.error_count())

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class DecisionLog:
    """Publishes decisions to ``shotline.moderation.decisions.v1``, key = requestId."""

    def __init__(self, kafka: KafkaSettings, deadline_s: float = 10.0) -> None:
        self._kafka = kafka
        self._topic = kafka.topics.moderation_decisions
        self._deadline_s = deadline_s
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **self._kafka.producer_kwargs(), acks="all", enable_idempotence=True
        )
        await self._producer.start()

    async def publish(self, decision: ReviewDecision) -> None:
        assert self._producer is not None, "start() first"
        value = decision.model_dump_json().encode()
        headers = [(HEADER_PROJECT, decision.project.encode())]
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    self._topic, value, key=decision.request_id.encode(), headers=headers
                ),
                self._deadline_s,
            )
        except (KafkaError, TimeoutError) as exc:
            raise PublishFailed(f"Kafka did not take the decision: {type(exc).__name__}") from exc

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
