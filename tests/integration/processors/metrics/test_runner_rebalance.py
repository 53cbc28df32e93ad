"""Two ``shotline process tally metrics`` instances joining and leaving mid-stream: the
rebalances move projects between owners (restored from shotline.usage.v1) and every
project's images and peak stay exact."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors.metrics.client import read_usage
from schemas import KafkaSettings
from tests.integration.processors.metrics.feed import Shot, burst, publish, steady
from tests.integration.processors.runner.streams import spawn, stop

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())
PROJECTS = ("acme", "beta", "gamma", "delta")


def half(tag: str, start: int, peak: int) -> list[Shot]:
    shots: list[Shot] = []
    for n, project in enumerate(PROJECTS):
        shots += burst(project, start, peak + n, f"{tag}b")
        shots += steady(project, start + 1, 30, 50, f"{tag}s")  # 1,500 more each
    return shots


async def images(kafka: KafkaSettings) -> dict[str, tuple[int, int]]:
    return {
        r.project: (r.billable_images, r.peak_qps)
        for _, r in await read_usage(kafka)
        if r.month == "2026-03"
    }


async def wait_total(kafka: KafkaSettings, at_least: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(i for i, _ in (await images(kafka)).values()) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"stuck at {await images(kafka)}")
        await asyncio.sleep(0.3)


async def test_instances_joining_and_leaving_mid_stream_keep_every_count_exact(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    args = ["process", "tally", "metrics", "--port", "0"]
    first = half("h1", MARCH, 600)  # 4 projects * (600..603 + 1,500)
    second = half("h2", MARCH + 3_600, 900)  # peaks 900..903 an hour later
    await publish(kafka, first)
    one = spawn(kafka, args, log=tmp_path / "one.log")
    two = None
    try:
        await wait_total(kafka, 1, timeout_s=60)
        two = spawn(kafka, args, log=tmp_path / "two.log")  # joins mid-stream
        await publish(kafka, second)
        await wait_total(kafka, len(first) + 1, timeout_s=90)
        assert stop(one) == 0, (tmp_path / "one.log").read_text()[-3000:]  # leaves mid-stream
        await wait_total(kafka, len(first) + len(second), timeout_s=120)
        await asyncio.sleep(3)  # a double count would surface meanwhile
        final = await images(kafka)
    finally:
        stop(one)
        if two is not None:
            assert stop(two) == 0, (tmp_path / "two.log").read_text()[-3000:]
    assert final == {
        project: (2 * 1_500 + 600 + n + 900 + n, 900 + n) for n, project in enumerate(PROJECTS)
    }
