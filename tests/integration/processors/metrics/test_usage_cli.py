"""``shotline usage`` reads the latest record per project-month from shotline.usage.v1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas import KafkaSettings
from schemas.usage import UsageRecord

pytestmark = pytest.mark.kafka

SHOTLINE = Path(sys.executable).parent / "shotline"
NOW = datetime(2026, 3, 20, tzinfo=UTC)


def record(project: str, month: str, images: int, peak: int, total: str) -> UsageRecord:
    return UsageRecord(
        project=project,
        month=month,
        billable_images=images,
        peak_qps=peak,
        total_cost_usd=Decimal(total),
        updated_at=NOW,
    )


async def write(kafka: KafkaSettings, records: list[UsageRecord]) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        for r in records:
            await producer.send_and_wait(
                kafka.topics.usage, r.model_dump_json().encode(), key=r.key.encode()
            )
    finally:
        await producer.stop()


async def shotline(kafka: KafkaSettings, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topics.prefix,
    }
    env.pop("SHOTLINE_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        str(SHOTLINE), *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_usage_json_prints_the_latest_state_per_project_and_month(
    kafka: KafkaSettings,
) -> None:
    await write(
        kafka,
        [
            record("acme", "2026-03", 100, 10, "0.00"),
            record("acme", "2026-03", 25_000, 501, "1.95"),  # newer state of the same key
            record("acme", "2026-02", 9_000, 20, "0.00"),
            record("beta", "2026-03", 1_000, 2_000, "2250.00"),
        ],
    )
    code, out = await shotline(kafka, "usage", "--json", "--project", "acme")
    assert code == 0
    rows = json.loads(out)
    assert [(r["month"], r["billable_images"], r["peak_qps"]) for r in rows] == [
        ("2026-02", 9_000, 20),
        ("2026-03", 25_000, 501),
    ]
    assert rows[1]["total_cost_usd"] == 1.95
    assert {"images_cost_usd", "qps_cost_usd", "project"} <= set(rows[1])

    code, out = await shotline(kafka, "usage", "--month", "2026-03")
    assert code == 0
    assert "2250.00" in out
    assert "25,000" in out
    assert "9,000" not in out  # February is filtered out
