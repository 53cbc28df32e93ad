"""Holding partitions back: rewound to a batch's first record and paused for a while.

The at-least-once engine holds a partition when its processor raised ``Backpressure``
(paused for the ``retry_after_s`` it asked) or when the batch's output could not be
published (paused for a growing backoff). Holding rewinds the partition first, so the
batch's records are fetched again and no offset commit (FastStream's ack commits every
assigned partition's position) moves past them; then it pauses the partition, so the
others keep flowing. A timer resumes it once the time has passed. A rebalance resets pause
state: ``reapply`` pauses again the reassigned partitions whose hold has not yet expired.

Metrics (``PauseMeter``, which the exactly-once engine's ``ownership`` keeps too):
``shotline_processor_paused_partitions`` (held now) and
``shotline_processor_paused_seconds_total`` (time held, by reason, counted when a hold ends).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from aiokafka import TopicPartition

from processors.runner.metrics import RunnerMetrics

__all__ = ["Holds", "PauseMeter", "PausingConsumer", "publish_backoff_s"]


def publish_backoff_s(failures: int) -> float:
    """How long a partition waits after its ``failures``-th publish failure in a row:
    1 s, doubling, at most 30 s (both engines)."""
    return min(30.0, 0.5 * 2.0**failures)


class PausingConsumer(Protocol):
    """The consumer calls a hold makes (``AIOKafkaConsumer`` has them; tests fake them)."""

    def assignment(self) -> set[TopicPartition]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...


class PauseMeter:
    """The paused-partitions gauge and paused-seconds counter of one processor, kept alike
    by both engines: ``start`` when a partition is paused, ``stop`` when it is taken up
    again or given up (seconds are counted then, under the reason it was paused for)."""

    def __init__(
        self, processor: str, metrics: RunnerMetrics, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._processor = processor
        self._metrics = metrics
        self._clock = clock
        self._since: dict[int, tuple[float, str]] = {}

    def start(self, partition: int, reason: str) -> None:
        self.stop(partition)
        self._since[partition] = (self._clock(), reason)
        self._metrics.paused.labels(self._processor).set(len(self._since))

    def stop(self, partition: int) -> None:
        held = self._since.pop(partition, None)
        if held is None:
            return
        since, reason = held
        self._metrics.paused_seconds.labels(self._processor, reason).inc(
            max(0.0, self._clock() - since)
        )
        self._metrics.paused.labels(self._processor).set(len(self._since))


@dataclass(slots=True)
class _Hold:
    until: float
    timer: asyncio.TimerHandle


class Holds:
    """The partitions of one processor's input topic held back now."""

    def __init__(
        self,
        topic: str,
        processor: str,
        metrics: RunnerMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._topic = topic
        self._clock = clock
        self._meter = PauseMeter(processor, metrics, clock)
        self._holds: dict[int, _Hold] = {}

    def __contains__(self, partition: int) -> bool:
        return partition in self._holds

    def hold(
        self, consumer: PausingConsumer, partition: int, offset: int, seconds: float, reason: str
    ) -> None:
        """Rewind ``partition`` to ``offset`` and pause it for ``seconds``."""
        tp = TopicPartition(self._topic, partition)
        if tp not in consumer.assignment():
            return  # lost meanwhile: its next owner starts from the committed offset
        consumer.seek(tp, offset)
        consumer.pause(tp)
        self._end(partition)
        timer = asyncio.get_running_loop().call_later(seconds, self._release, consumer, partition)
        self._holds[partition] = _Hold(self._clock() + seconds, timer)
        self._meter.start(partition, reason)

    def reapply(self, consumer: PausingConsumer, partitions: Iterable[int]) -> None:
        """Pause again the reassigned ``partitions`` still held (a rebalance resumed them;
        their position is the committed offset, the first record of the held batch)."""
        now = self._clock()
        for partition in partitions:
            held = self._holds.get(partition)
            if held is not None and held.until > now:
                consumer.pause(TopicPartition(self._topic, partition))

    def close(self) -> None:
        for partition in list(self._holds):
            self._end(partition)

    def _release(self, consumer: PausingConsumer, partition: int) -> None:
        self._end(partition)
        tp = TopicPartition(self._topic, partition)
        if tp in consumer.assignment():
            consumer.resume(tp)

    def _end(self, partition: int) -> None:
        held = self._holds.pop(partition, None)
        if held is None:
            return
        held.timer.cancel()
        self._meter.stop(partition)
