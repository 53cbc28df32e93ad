"""The dedupe handler over batches: first occurrence emitted to its own partition, the rest
dropped, by the key before decoding when possible."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from processors.dedupe.handler import DedupeProcessor
from processors.dedupe.seen import SeenSet, digest
from processors.runner.contract import Record
from schemas import CallbackEnvelope
from tests.callbacks_factory import envelope


def record(
    i: int, partition: int = 1, offset: int = 0, key: str | None = None
) -> Record[CallbackEnvelope]:
    return Record(
        value=envelope(i),
        key=f"req-{i}" if key is None else key,
        topic="in",
        partition=partition,
        offset=offset,
        timestamp_ms=0,
    )


def processor() -> DedupeProcessor:
    dedupe = DedupeProcessor()
    dedupe._seen = SeenSet(window_ms=86_400_000, buckets=24, max_ids=1000)
    dedupe._output = "out"
    return dedupe


async def test_duplicates_in_one_batch_are_emitted_once_to_the_input_partition() -> None:
    dedupe = processor()
    result = await dedupe.handle([record(1, offset=0), record(1, offset=1), record(2, offset=2)])
    assert [(e.key, e.partition, e.topic) for e in result.emits] == [
        ("req-1", 1, "out"),
        ("req-2", 1, "out"),
    ]


async def test_id_seen_in_an_earlier_batch_is_dropped_and_skipped_on_its_key() -> None:
    dedupe = processor()
    await dedupe.handle([record(1)])
    assert (await dedupe.handle([record(1, offset=5)])).emits == []
    assert dedupe.skip_keys(1, [b"req-1", b"req-9", b"req-9", None]) == [True, False, True, False]
    assert dedupe.skip_keys(2, [b"req-1"]) == [False], "another partition's ids are not its"


async def test_record_keyed_other_than_its_request_id_is_dead_lettered() -> None:
    dedupe = processor()
    result = await dedupe.handle([record(1, key="something-else")])
    assert result.emits == []
    assert [d.error for d in result.dead] == [
        "key 'something-else' is neither the object name nor the requestId"
    ]


async def test_revoked_partition_forgets_its_ids() -> None:
    dedupe = processor()
    await dedupe.handle([record(1)])
    await dedupe.on_revoke({1})
    assert not dedupe._seen.contains(1, digest(b"req-1"))


async def test_start_rejects_unknown_settings() -> None:
    from processors.runner.contract import Context
    from schemas import KafkaSettings

    ctx = Context(
        kafka=KafkaSettings(), projects={}, registry=CollectorRegistry(), settings={"windw_s": 1}
    )
    with pytest.raises(ValueError, match="windw_s"):
        await DedupeProcessor().start(ctx)
