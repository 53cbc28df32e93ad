"""Helpers for ingest tests against a real broker: end offsets, reading a topic back,
free ports, and running ``shotline ingest`` as a real process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import KafkaSettings
from shotline.dev.topology import free_port as free_port  # re-exported for the tests

ADDR = "https://hooks.example.com/v1/callbacks/itest"
KEY = "itest-0f3c9a"


async def end_offsets(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**kafka.client_kwargs())
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []
            ]
        offsets = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in offsets.items()}
    finally:
        await consumer.stop()


async def read_topic(kafka: KafkaSettings, topic: str, timeout_s: float = 10.0) -> list[Any]:
    """Every record currently in ``topic`` (read up to the end offsets seen at the start)."""
    ends = await end_offsets(kafka, topic)
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        partitions = [TopicPartition(topic, p) for p in ends]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            positions = {tp.partition: await consumer.position(tp) for tp in partitions}
            if all(positions[p] >= ends[p] for p in ends):
                break
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
        return records
    finally:
        await consumer.stop()


def request_id(record: Any) -> str:
    """The requestId of a record of shotline.callbacks.v1 (keyed by object name)."""
    rid: str = orjson.loads(record.value)["callback"]["requestId"]
    return rid


def write_config(path: Path, **project: Any) -> Path:
    lines = [f"[projects.{KEY}]", f'callback_addr = "{ADDR}"']
    lines += [f"{name} = {value!r}".replace("'", '"') for name, value in project.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class IngestProcess:
    """``shotline ingest`` in a subprocess with its own environment."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = {**os.environ, **env}
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        shotline = Path(sys.executable).parent / "shotline"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(shotline), "ingest", "--port", str(self.port), "--log-level", "info"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"ingest did not start:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout=30)


@pytest.fixture
def ingest_processes() -> Iterator[list[IngestProcess]]:
    started: list[IngestProcess] = []
    yield started
    for process in started:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=10)


async def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(interval_s)
