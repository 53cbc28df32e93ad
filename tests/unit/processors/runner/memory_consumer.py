"""FastStream's in-memory consumer (what ``TestKafkaBroker`` hands a batch handler as
``message.consumer``), made to record the offset calls the at-least-once engine makes."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from aiokafka import TopicPartition
from faststream.kafka.message import FAKE_CONSUMER


class MemoryConsumer:
    """Commits (counted, offsets kept, or failing on demand), seeks, pauses and resumes."""

    def __init__(self, topic: str, partitions: int = 3) -> None:
        self.tps = {TopicPartition(topic, p) for p in range(partitions)}
        self.commits = 0
        self.committed: dict[int, int] = {}
        self.fail_commit = False
        self.seeks: list[tuple[int, int]] = []
        self.paused: set[int] = set()
        self.pauses: list[int] = []
        self.resumes: list[int] = []

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        if self.fail_commit:
            raise RuntimeError("commit failed: group rebalanced")
        self.commits += 1
        for tp, offset in (offsets or {}).items():
            self.committed[tp.partition] = offset

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition.partition, offset))

    def highwater(self, partition: TopicPartition) -> int | None:
        return None

    def assignment(self) -> set[TopicPartition]:
        return self.tps

    def pause(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.paused.add(tp.partition)
            self.pauses.append(tp.partition)

    def resume(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.paused.discard(tp.partition)
            self.resumes.append(tp.partition)


def install(monkeypatch: pytest.MonkeyPatch, topic: str) -> MemoryConsumer:
    """Route FastStream's in-memory consumer calls to a fresh ``MemoryConsumer``."""
    memory = MemoryConsumer(topic)
    for name in ("commit", "seek", "assignment", "pause", "resume", "highwater"):
        monkeypatch.setattr(FAKE_CONSUMER, name, getattr(memory, name), raising=False)
    return memory
