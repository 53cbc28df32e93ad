"""Which screenshots already have a verdict: read back from ``shotline.moderation.v1``.

The stage publishes each verdict to the partition number its input record came from, so
the verdicts of input partition p are in output partition p. On assignment the keys of
those partitions newer than ``restore_window_s`` are read; a record whose verdict is
already there (published, but the input offset was not committed before a crash or a
rebalance) then gets no second verdict, no second provider call and no second webhook.
An output topic without the input's partition numbers is a ``FatalError`` (verdicts are
published there). Otherwise best effort: a failed read is logged and the stage goes on
(duplicates stay idempotent on requestId, the webhook carries ``Idempotency-Key``).
aiokafka errors stay in this module.
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.runner.errors import FatalError
from processors.runner.readback import read_range
from schemas import KafkaSettings

__all__ = ["VerdictLog"]

log = logging.getLogger(__name__)


class VerdictLog:
    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._kafka = kafka
        self._topic = topic

    async def published(self, partitions: set[int], window_s: float) -> dict[str, int]:
        """requestId → partition of every verdict in ``partitions`` newer than
        ``window_s``; empty when the topic cannot be read."""
        if not partitions or window_s <= 0:
            return {}
        consumer = AIOKafkaConsumer(
            **self._kafka.client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        found: dict[str, int] = {}
        try:
            await consumer.start()
            # aiokafka's public partitions_for_topic only knows subscribed topics
            cluster = await consumer._client.fetch_all_metadata()
            have = cluster.partitions_for_topic(self._topic) or set()
            if not partitions <= have:
                raise FatalError(
                    f"{self._topic} has partitions {sorted(have)}: it needs every input "
                    f"partition number ({sorted(partitions)}); create it with as many "
                    "partitions as the enriched topic"
                )
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            since_ms = int((time.time() - window_s) * 1000)
            starts = await consumer.offsets_for_times({tp: since_ms for tp in tps})
            ranges = {}
            for tp in tps:
                start = starts.get(tp)
                ranges[tp] = (ends[tp] if start is None else start.offset, ends[tp])
            async for tp, msg in read_range(consumer, ranges, max_records=20_000):
                if msg.key is not None:
                    found[msg.key.decode("utf-8", "replace")] = tp.partition
        except KafkaError as exc:
            log.warning("moderate: cannot read back %s (%s); going on without", self._topic, exc)
        finally:
            await consumer.stop()
        return found
