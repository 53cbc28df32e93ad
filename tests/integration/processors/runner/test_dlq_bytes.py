"""A dead letter whose key and headers are not UTF-8 replays byte for byte: the same key
(hence the same partition) and the same headers reach the source topic again."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from processors.runner.dlq import read_dead_letters, replay_dead_letters
from schemas import KafkaSettings
from tests.integration.processors.runner.streams import spawn, stop, wait_for_count

pytestmark = [pytest.mark.kafka]

KEY = b"\xff\xfe-not-utf8"
HEADERS = [("shotline-project", b"demo"), ("blob", b"\x80\x81\x00")]


async def records_of(
    kafka: KafkaSettings, topic: str
) -> list[tuple[int, bytes | None, list[tuple[str, bytes]]]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[int, bytes | None, list[tuple[str, bytes]]]] = []
        while sum(ends.values()) > len(out):
            for tp, msgs in (await consumer.getmany(timeout_ms=1000)).items():
                out.extend((tp.partition, m.key, list(m.headers)) for m in msgs)
        return out
    finally:
        await consumer.stop()


async def test_a_non_utf8_key_and_headers_replay_to_the_same_partition_byte_for_byte(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(kafka.topics.callbacks, b"{not json", key=KEY, headers=HEADERS)
    finally:
        await producer.stop()
    proc = spawn(kafka, ["process", "dedupe", "--port", "0"], log=tmp_path / "d.log")
    try:
        await wait_for_count(kafka, kafka.topics.dlq, 1, timeout_s=60)
    finally:
        assert stop(proc) == 0, (tmp_path / "d.log").read_text()
    [stored] = await read_dead_letters(kafka)
    assert stored.record.source_key_base64 is not None
    assert await replay_dead_letters(kafka, [stored.record]) == 1

    original, replayed = await records_of(kafka, kafka.topics.callbacks)
    assert replayed[1] == KEY
    assert replayed[0] == original[0] == stored.record.source_partition
    assert [(k, bytes(v)) for k, v in replayed[2]] == HEADERS
