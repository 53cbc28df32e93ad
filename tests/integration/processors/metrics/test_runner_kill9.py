"""``shotline process tally metrics`` under the real runner: SIGKILL mid-stream and a restart
neither lose nor double-count a screenshot, and the bill matches the hand computation."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from processors.metrics.client import read_usage
from schemas import KafkaSettings
from schemas.usage import UsageRecord
from tests.integration.processors.metrics.feed import burst, publish, steady
from tests.integration.processors.runner.streams import spawn, stop

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())
KEY = "acme|2026-03"


async def acme(kafka: KafkaSettings) -> UsageRecord | None:
    return {r.key: r for _, r in await read_usage(kafka)}.get(KEY)


async def wait_images(kafka: KafkaSettings, at_least: int, timeout_s: float) -> UsageRecord:
    deadline = time.monotonic() + timeout_s
    while True:
        rec = await acme(kafka)
        if rec is not None and rec.billable_images >= at_least:
            return rec
        if time.monotonic() > deadline:
            raise AssertionError(f"acme reached only {rec and rec.billable_images} images")
        await asyncio.sleep(0.3)


async def test_kill_9_mid_month_and_restart_bills_every_screenshot_once(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    log = tmp_path / "process.log"
    args = ["process", "tally", "metrics", "--port", "0"]
    # First half: 700 in one second + 5,000 more = 5,700 images.
    await publish(kafka, burst("acme", MARCH, 700, "b1") + steady("acme", MARCH + 1, 50, 100, "s1"))
    proc = spawn(kafka, args, log=log)
    try:
        first = await wait_images(kafka, 5_700, timeout_s=90)
        assert (first.billable_images, first.peak_qps) == (5_700, 700)
        # Second half: 1,200 in one second (day 2) + 15,000 more = 16,200 images.
        await publish(
            kafka,
            burst("acme", MARCH + 86_400, 1_200, "b2")
            + steady("acme", MARCH + 86_401, 150, 100, "s2"),
        )
        await wait_images(kafka, 5_701, timeout_s=60)  # it is mid-way through the second half
    finally:
        stop(proc, sig=signal.SIGKILL)
    killed_at = (await acme(kafka)) or first
    print(f"killed with {killed_at.billable_images} of 21,900 images in shotline.usage.v1")
    proc = spawn(kafka, args, log=log)
    try:
        await wait_images(kafka, 21_900, timeout_s=120)
        await asyncio.sleep(3)  # anything counted twice would show up by now
        final = await acme(kafka)
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]
    assert final is not None
    assert killed_at.billable_images <= 21_900
    # 21,900 images: 11,900 * $0.00003 = $0.357 -> $0.36; peak 1,200: 700 * $1.5 = $1,050.
    assert (final.billable_images, final.peak_qps, final.duplicates) == (21_900, 1_200, 0)
    assert (final.images_cost_usd, final.qps_cost_usd, final.total_cost_usd) == (
        Decimal("0.36"),
        Decimal("1050.00"),
        Decimal("1050.36"),
    )
