"""Agora-style triple delivery through ``dedupe`` → ``tally`` → ``metrics`` under the real
runner: each screenshot is billed once and the peak is the global per-second count."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from processors.metrics.client import read_usage
from schemas import AgoraCallback, CallbackEnvelope, ChecksumStatus, KafkaSettings, compact_utc
from tests.integration.processors.runner.streams import produce, spawn, stop

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

T0 = datetime(2026, 3, 15, 8, 0, 0, 250_000, tzinfo=UTC)


def callback(i: int, shot: datetime, status: ChecksumStatus = ChecksumStatus.OK) -> bytes:
    utc = compact_utc(shot)
    cb = AgoraCallback(
        requestId=f"req-{i}",
        callbackParam={"cname": "room"},
        checksum="0" * 32,
        object=f"shots/{utc[:8]}/{i:032x}_room__uid_s_7__uid_e_video_{utc}.jpg",
        code=200,
        msg="Supervise complete",
        channelName="room",
        userId="7",
        timestamp=int(shot.timestamp() * 1000),
    )
    env = CallbackEnvelope(project="acme", received_at=shot, checksum_status=status, callback=cb)
    return env.model_dump_json().encode()


async def test_callbacks_delivered_three_times_are_billed_once(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    # 600 screenshots in one second and 400 in the next, 5 of them with a checksum mismatch
    # accepted in `log` mode; every callback arrives three times.
    shots = [(i, T0 if i < 600 else T0 + timedelta(seconds=1)) for i in range(1_000)]
    items = [
        (
            f"req-{i}".encode(),
            callback(i, at, ChecksumStatus.MISMATCH if i < 5 else ChecksumStatus.OK),
        )
        for i, at in shots
        for _ in range(3)
    ]
    await produce(kafka, kafka.topics.callbacks, items)
    log = tmp_path / "process.log"
    # The price table reaches the running processor from the environment: a free tier of
    # 400 QPS instead of 500.
    env = {"SHOTLINE_METRICS_PRICES": '{"free_qps": 400}'}
    proc = spawn(kafka, ["process", "dedupe", "tally", "metrics", "--port", "0"], env, log)
    try:
        deadline = time.monotonic() + 120
        rec = None
        while time.monotonic() < deadline:
            found = {r.key: r for _, r in await read_usage(kafka)}
            rec = found.get("acme|2026-03")
            if rec is not None and rec.billable_images >= 1_000:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # a double count would surface meanwhile
        rec = {r.key: r for _, r in await read_usage(kafka)}.get("acme|2026-03")
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]
    assert rec is not None
    assert (rec.billable_images, rec.peak_qps, rec.checksum_failures) == (1_000, 600, 5)
    # Below the free 10,000 images; peak 600 over a free 400: 200 * $1.5 = $300.00.
    assert (rec.images_cost_usd, rec.qps_cost_usd, rec.total_cost_usd) == (
        Decimal("0.00"),
        Decimal("300.00"),
        Decimal("300.00"),
    )
