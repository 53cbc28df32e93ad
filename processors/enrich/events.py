"""Following ``shotline.s3events.v1``: the Kafka adapter that feeds the event index.

Every enrich instance reads every partition of the events topic (no consumer group): a
screenshot's input partition (by requestId) and its event's partition (by ``bucket/key``)
are unrelated, so each instance needs all events, and a rebalance of the screenshots never
moves this state. At start it reads from ``now - event_ttl_s`` (``offsets_for_times``):
that rebuilds the index after a restart. ``warm`` is set once it has caught up with the
end offsets it saw at start, so no HeadObject is made for a screenshot whose event is
merely still being read back. Events are hints: a lost one costs a HeadObject, never a
record, so this reader commits nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from processors.enrich.checkpoints import stop_consumer
from processors.enrich.logic import ObjectEvent
from processors.enrich.s3wire import object_events
from processors.runner.readback import ranges_since, reader, topic_partitions
from schemas import KafkaSettings

__all__ = ["EventFeed"]

log = logging.getLogger("shotline.processors")


class EventFeed:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        on_events: Callable[[Sequence[ObjectEvent]], None],
        on_invalid: Callable[[], None],
    ) -> None:
        self._kafka = kafka
        self.topic = topic
        self._on_events = on_events
        self._on_invalid = on_invalid
        self.warm = asyncio.Event()

    async def run(self, since_ms: int) -> None:
        """Read until cancelled; Kafka errors are logged and the read starts over."""
        while True:
            try:
                await self._follow(since_ms)
            except KafkaError as exc:
                log.warning("enrich: reading %s failed (%s), retrying in 2 s", self.topic, exc)
                await asyncio.sleep(2)

    async def _follow(self, since_ms: int) -> None:
        consumer = reader(self._kafka, fetch_bytes=4 << 20)
        await consumer.start()
        try:
            parts = (await topic_partitions(self._kafka, self.topic))[self.topic]
            if not parts:
                log.warning("enrich: topic %s does not exist; no S3 events", self.topic)
                self.warm.set()
                await asyncio.Event().wait()  # nothing to read; the HeadObject path serves
            tps = [TopicPartition(self.topic, p) for p in parts]
            consumer.assign(tps)
            spans = await ranges_since(consumer, tps, since_ms)
            ends = {tp: end for tp, (_, end) in spans.items()}
            for tp, (start, _) in spans.items():
                consumer.seek(tp, start)
            behind = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
            if not behind:
                self.warm.set()
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                events: list[ObjectEvent] = []
                for messages in batch.values():
                    for msg in messages:
                        found = object_events(msg.value or b"")
                        if found is None:
                            self._on_invalid()
                        else:
                            events.extend(found)
                if events:
                    self._on_events(events)
                if behind:
                    behind = {tp for tp in behind if await consumer.position(tp) < ends[tp]}
                    if not behind:
                        self.warm.set()
        finally:
            await stop_consumer(consumer)
