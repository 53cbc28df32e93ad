"""Restoring the seen-set from the output topic: the Kafka adapter of dedupe.

Output partition p holds exactly the requestIds input partition p has emitted (dedupe
publishes to the same partition number), so the ids partition p emitted within the window
are the keys of output partition p from ``offsets_for_times(now - window)`` to its end,
read ``read_committed``. The runner calls this only after fencing the partition's previous
producer, so the end is final: an aborted zombie transaction is never counted.
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.errors import FatalError, RetriableError
from processors.runner.readback import ranges_since, read_range, reader, topic_partitions
from schemas import KafkaSettings

__all__ = ["OutputLog"]

OnKey = Callable[[int, bytes, int], None]  # (partition, key, timestamp_ms)


class OutputLog:
    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._kafka = kafka
        self._topic = topic

    def _consumer(self) -> AIOKafkaConsumer:
        return reader(self._kafka, fetch_bytes=8 << 20)

    async def check_partitions(self, input_topic: str) -> int:
        """The shared partition count; ``FatalError`` unless input and output agree."""
        try:
            found = await topic_partitions(self._kafka, input_topic, self._topic)
        except KafkaError as exc:
            raise RetriableError(f"cannot read topic metadata: {exc}") from exc
        sizes = {t: len(parts) for t, parts in found.items()}
        if 0 in sizes.values() or len(set(sizes.values())) != 1:
            raise FatalError(f"dedupe needs equal, non-zero partition counts, found {sizes}")
        return sizes[input_topic]

    async def replay(self, partitions: set[int], since_ms: int, on_key: OnKey) -> int:
        """Call ``on_key`` for every committed record of ``partitions`` newer than
        ``since_ms``; the number of records read."""
        if not partitions:
            return 0
        consumer = self._consumer()
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        count = 0
        try:
            await consumer.start()
            consumer.assign(tps)
            ranges = await ranges_since(consumer, tps, since_ms)
            async for tp, msg in read_range(consumer, ranges, max_records=20_000):
                if msg.key is not None:
                    on_key(tp.partition, msg.key, msg.timestamp)
                    count += 1
        except KafkaError as exc:
            raise RetriableError(f"cannot restore from {self._topic}: {exc}") from exc
        finally:
            await consumer.stop()
        return count
