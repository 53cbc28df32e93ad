"""Dedupe stays exact through ``kill -9``, restarts and rebalances between two instances.

The stream re-delivers every requestId (Agora retries and a later replay of the whole first
half), so a seen-set that did not survive the crash would show as duplicates, and an output
transaction that committed without its offsets (or the reverse) would show as a duplicate
or a gap. Output is read ``read_committed``.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from pathlib import Path

import orjson
import pytest

from schemas import KafkaSettings
from tests.callbacks_factory import envelope_bytes
from tests.integration.processors.runner.streams import (
    free_port,
    produce,
    scrape,
    spawn,
    stays_at,
    stop,
    wait_for_count,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

# Small batches make many transactions, so a kill lands inside one.
SMALL_BATCHES = {"SHOTLINE_PROCESSORS_BATCH_MAX_RECORDS": "40"}


async def feed(kafka: KafkaSettings, ids: range, repeats: int, pause_s: float) -> None:
    """Publish each id ``repeats`` times, in chunks of 100, pausing between chunks."""
    for start in range(ids.start, ids.stop, 100):
        chunk = range(start, min(start + 100, ids.stop))
        items = [(f"req-{i}".encode(), envelope_bytes(i)) for i in chunk for _ in range(repeats)]
        await produce(kafka, kafka.topics.callbacks, items)
        await asyncio.sleep(pause_s)


def request_ids(records: list[tuple[int, bytes | None, bytes]]) -> Counter[str]:
    return Counter(orjson.loads(value)["request_id"] for _, _, value in records)


async def test_sigterm_and_kill_9_mid_stream_then_restart_lose_and_duplicate_nothing(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    log = tmp_path / "dedupe.log"
    args = ["process", "dedupe", "--port", "0"]
    first = spawn(kafka, args, SMALL_BATCHES, log)
    feeding = asyncio.create_task(feed(kafka, range(0, 3000), repeats=2, pause_s=0.3))
    second = third = None
    try:
        await wait_for_count(kafka, kafka.topics.screenshots, 200, timeout_s=60)
        # Graceful: finishes its batch, commits, leaves the group, exits 0 promptly.
        assert stop(first, signal.SIGTERM, timeout_s=15) == 0, log.read_text()
        second = spawn(kafka, args, SMALL_BATCHES, log)
        await wait_for_count(kafka, kafka.topics.screenshots, 1000, timeout_s=60)
        assert not feeding.done(), "the stream ended before the kill: feed slower"
        second.send_signal(signal.SIGKILL)
        assert second.wait(timeout=10) == -signal.SIGKILL
        third = spawn(kafka, args, SMALL_BATCHES, log)
        await feeding
        # Replay the first half again after the restarts: all must be recognised.
        await feed(kafka, range(0, 1500), repeats=1, pause_s=0)
        await wait_for_count(kafka, kafka.topics.screenshots, 3000, timeout_s=90)
        records = await stays_at(kafka, kafka.topics.screenshots, 3000, for_s=3)
    finally:
        feeding.cancel()
        for proc in (first, second):
            stop(proc)
        if third is not None:
            assert stop(third) == 0, log.read_text()
    counts = request_ids(records)
    assert set(counts) == {f"req-{i}" for i in range(3000)}, "a requestId is missing"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1][:10]


async def test_two_instances_and_rebalances_mid_stream_stay_exact(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    ports = free_port(), free_port(), free_port()
    assigned = "shotline_processor_assigned_partitions"
    restored = "shotline_dedupe_restored_ids_total"

    def run(index: int, name: str) -> subprocess.Popen[bytes]:
        args = ["process", "dedupe", "--port", str(ports[index])]
        return spawn(kafka, args, SMALL_BATCHES, tmp_path / f"{name}.log")

    a = run(0, "a")
    b = c = None
    feeding = asyncio.create_task(feed(kafka, range(0, 3000), repeats=2, pause_s=0.3))
    try:
        await wait_for_count(kafka, kafka.topics.screenshots, 200, timeout_s=60)
        b = run(1, "b")  # a live rebalance: A hands partitions over to B
        await wait_until(lambda: (scrape(ports[1], assigned) or 0) > 0, what="B assigned")
        assert (scrape(ports[0], assigned) or 0) < 3
        # B rebuilt the seen-set of what it took over from the output topic; A kept the
        # state of the partitions it kept (nobody committed on them meanwhile): no re-read.
        assert (scrape(ports[1], restored) or 0) > 0
        assert scrape(ports[0], restored) == 0
        assert not feeding.done(), "the stream ended before the rebalance: feed slower"
        a.send_signal(signal.SIGKILL)  # B takes A's partitions over from a dead owner
        c = run(2, "c")  # and a third joins: another live rebalance
        await wait_until(lambda: (scrape(ports[2], assigned) or 0) > 0, 60, "C assigned")
        await feeding
        await feed(kafka, range(0, 3000, 7), repeats=1, pause_s=0)  # late duplicates
        await wait_for_count(kafka, kafka.topics.screenshots, 3000, timeout_s=120)
        records = await stays_at(kafka, kafka.topics.screenshots, 3000, for_s=3)
    finally:
        feeding.cancel()
        stop(a)
        for proc, name in ((b, "b"), (c, "c")):
            if proc is not None:
                assert stop(proc) == 0, (tmp_path / f"{name}.log").read_text()
    counts = request_ids(records)
    assert set(counts) == {f"req-{i}" for i in range(3000)}, "a requestId is missing"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1][:10]
