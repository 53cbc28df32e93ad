"""Kafka I/O for processor integration tests: feed a topic, read one back read_committed,
and run ``shotline process`` as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import KafkaSettings
from shotline.dev.topology import free_port as free_port  # re-exported for the tests
from tests.paths import ROOT


async def produce(
    kafka: KafkaSettings,
    topic: str,
    items: Iterable[tuple[bytes | None, bytes]],
    partition: int | None = None,
) -> int:
    """Publish (key, value) pairs, by default with the key partitioner (as ingest does)."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key, partition=partition) for key, value in items
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def read_all(
    kafka: KafkaSettings, topic: str, committed: bool = True
) -> list[tuple[int, bytes | None, bytes]]:
    """Every (partition, key, value) currently in ``topic`` (read_committed by default)."""
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(),
        isolation_level="read_committed" if committed else "read_uncommitted",
    )
    await consumer.start()
    out: list[tuple[int, bytes | None, bytes]] = []
    try:
        # aiokafka's public partitions_for_topic only knows subscribed topics
        cluster = await consumer._client.fetch_all_metadata()
        parts = cluster.partitions_for_topic(topic) or set()
        if not parts:
            return out
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        todo = {tp: end for tp, end in ends.items() if end > 0}
        while todo:
            batch = await consumer.getmany(*todo, timeout_ms=1000)
            for tp, msgs in batch.items():
                out.extend((tp.partition, m.key, m.value) for m in msgs if m.value is not None)
            for tp in list(todo):
                if await consumer.position(tp) >= todo[tp]:
                    del todo[tp]
    finally:
        await consumer.stop()
    return out


async def wait_for_count(
    kafka: KafkaSettings, topic: str, count: int, timeout_s: float = 60
) -> list[tuple[int, bytes | None, bytes]]:
    """Poll ``topic`` until it holds at least ``count`` committed records; AssertionError
    naming the topic and how many it holds if that takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    records = await read_all(kafka, topic)
    while len(records) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{topic}: {len(records)} committed records after {timeout_s} s, "
                f"expected at least {count}"
            )
        await asyncio.sleep(0.5)
        records = await read_all(kafka, topic)
    return records


async def stays_at(
    kafka: KafkaSettings, topic: str, count: int, for_s: float = 3
) -> list[tuple[int, bytes | None, bytes]]:
    """Check that ``topic`` holds exactly ``count`` committed records now and still does
    ``for_s`` seconds later (nothing more arrives); AssertionError otherwise."""
    deadline = time.monotonic() + for_s
    while True:
        records = await read_all(kafka, topic)
        if len(records) != count:
            raise AssertionError(f"{topic}: {len(records)} committed records, expected {count}")
        if time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.5)


def spawn(
    kafka: KafkaSettings,
    args: Sequence[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``shotline <args>`` with this test's Kafka settings."""
    full_env = {
        **os.environ,
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("shotline")), *args],
        env=full_env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 40) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def scrape(port: int, name: str) -> float | None:
    """The sum of a metric's samples on a runner's /metrics, or None if it does not answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    ]
    return sum(values) if values else None


async def wait_until(check: Callable[[], bool], timeout_s: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.2)
