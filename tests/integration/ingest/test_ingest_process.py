"""``shotline ingest`` as a real process: ``kill -9`` with a loaded spool, restart, drain;
the spool's size limit; SIGTERM closes cleanly."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import orjson
import pytest

from schemas import KafkaSettings
from tests.integration.ingest.conftest import (
    KEY,
    IngestProcess,
    free_port,
    read_topic,
    request_id,
    wait_until,
    write_config,
)
from tests.integration.ingest.test_publish import OBJECT, body

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

HEADERS = {"content-type": "application/json;charset=utf-8"}


def environment(
    kafka: KafkaSettings, tmp_path: Path, bootstrap: str, **extra: str
) -> dict[str, str]:
    return {
        "SHOTLINE_CONFIG": str(write_config(tmp_path / "shotline.toml")),
        "SHOTLINE_KAFKA_BOOTSTRAP": bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "SHOTLINE_INGEST_SPOOL_DIR": str(tmp_path / "spool"),
        "SHOTLINE_INGEST_DRAIN_INTERVAL_S": "0.2",
        **extra,
    }


def distinct_object(i: int) -> str:
    """The i-th of ``count`` distinct screenshots: dedupe keys an Agora-shaped object name,
    so requests meant to be distinct need distinct objects, not only distinct requestIds."""
    return OBJECT.replace("38f8e3cf", f"{i:08x}", 1)


def post_many(url: str, prefix: str, count: int) -> list[httpx.Response]:
    with httpx.Client(base_url=url, timeout=10) as client:
        return [
            client.post(
                f"/v1/callbacks/{KEY}",
                content=orjson.dumps(body(f"{prefix}-{i}", object=distinct_object(i))),
                headers=HEADERS,
            )
            for i in range(count)
        ]


async def test_spooled_records_survive_kill_9_of_the_ingest_and_drain_after_restart(
    kafka: KafkaSettings, tmp_path: Path, ingest_processes: list[IngestProcess]
) -> None:
    dead_broker = f"127.0.0.1:{free_port()}"
    down = IngestProcess(
        environment(kafka, tmp_path, dead_broker), free_port(), tmp_path / "ingest.log"
    )
    ingest_processes.append(down)
    down.start()
    answers = post_many(down.url, "spooled", 60)
    assert [r.status_code for r in answers] == [200] * 60
    assert {r.json()["via"] for r in answers} == {"spool"}
    assert httpx.get(f"{down.url}/readyz").json()["spool_depth"] == 60
    down.kill9()

    up = IngestProcess(
        environment(kafka, tmp_path, kafka.bootstrap), free_port(), tmp_path / "ingest.log"
    )
    ingest_processes.append(up)
    up.start()
    expected = {f"spooled-{i}" for i in range(60)}

    async def all_in_kafka() -> bool:
        records = await read_topic(kafka, kafka.topics.callbacks, 5)
        return expected <= {request_id(r) for r in records}

    await wait_until(all_in_kafka, timeout_s=60)
    assert httpx.get(f"{up.url}/readyz").json()["spool_depth"] == 0
    assert up.terminate() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful stop
    assert "Application shutdown complete" in (tmp_path / "ingest.log").read_text()
    wal = tmp_path / "spool" / "spool-0.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and closed cleanly


async def test_full_spool_answers_503_and_never_200(
    kafka: KafkaSettings, tmp_path: Path, ingest_processes: list[IngestProcess]
) -> None:
    env = environment(
        kafka, tmp_path, f"127.0.0.1:{free_port()}", SHOTLINE_INGEST_SPOOL_MAX_BYTES="4000"
    )
    process = IngestProcess(env, free_port(), tmp_path / "ingest.log")
    ingest_processes.append(process)
    process.start()
    answers = post_many(process.url, "full", 30)
    codes = [r.status_code for r in answers]
    first_503 = codes.index(503)
    assert first_503 > 0
    assert codes[first_503:] == [503] * (30 - first_503)
    assert {r.json()["error"] for r in answers[first_503:]} == {"spool_full"}
    metrics = httpx.get(f"{process.url}/metrics").text
    assert "shotline_ingest_spool_full 1.0" in metrics
    assert process.terminate() in (0, -15)


async def test_sigterm_under_load_finishes_in_flight_requests_and_loses_none(
    kafka: KafkaSettings, tmp_path: Path, ingest_processes: list[IngestProcess]
) -> None:
    process = IngestProcess(
        environment(kafka, tmp_path, kafka.bootstrap, SHOTLINE_INGEST_WORKERS="2"),
        free_port(),
        tmp_path / "ingest.log",
    )
    ingest_processes.append(process)
    process.start()
    acked: set[str] = set()
    other: list[int] = []
    refused = 0
    counter = iter(range(100_000))

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal refused
        for i in counter:
            try:
                response = await client.post(
                    f"/v1/callbacks/{KEY}", content=orjson.dumps(body(f"term-{i}")), headers=HEADERS
                )
            except httpx.TransportError:
                refused += 1  # arrived after the listener closed: never acknowledged
                return
            if response.status_code == 200:
                acked.add(f"term-{i}")
            else:
                other.append(response.status_code)

    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        senders = [asyncio.create_task(sender(client)) for _ in range(16)]
        deadline = time.monotonic() + 30
        while len(acked) < 300 and not other and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert process.proc is not None
        process.proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*senders)
    assert process.proc.wait(timeout=30) in (0, -15)
    assert other == []
    assert len(acked) >= 300
    spools = sorted(p.name for p in (tmp_path / "spool").glob("spool-*.sqlite3"))
    assert spools == ["spool-0.sqlite3", "spool-1.sqlite3"]  # one per worker
    in_kafka = {request_id(r) for r in await read_topic(kafka, kafka.topics.callbacks, 30)}
    assert acked - in_kafka == set()
