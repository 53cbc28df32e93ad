"""The reconciler against the real broker and the local S3 server, with the pipeline
running: the simulator uploads 500 screenshots and drops about 10 % of their callbacks;
``shotline reconcile`` publishes exactly the dropped ones, a second run publishes none, and
when the dropped callbacks finally arrive (twice each, after a restart of the processors)
every object is still in ``shotline.screenshots.v1`` once and ``shotline usage`` bills
exactly 500."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import orjson
import pytest

from schemas import KafkaSettings
from tests.conftest import S3_ENDPOINT
from tests.integration.ingest.conftest import IngestProcess, free_port
from tests.integration.processors.runner.streams import (
    read_all,
    spawn,
    stays_at,
    stop,
    wait_for_count,
)
from tests.integration.shotline.reconcile.harness import (
    PREFIX,
    PROJECT,
    environment,
    new_bucket,
    reconcile,
    shotline,
    write_config,
)

pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.slow]

TOTAL = 500
JSON_UTF8 = {"content-type": "application/json;charset=utf-8"}


async def billed(env: dict[str, str]) -> int:
    code, out, _ = await asyncio.to_thread(shotline, env, "usage", "--json", "--project", PROJECT)
    assert code == 0
    return sum(row["billable_images"] for row in json.loads(out))


async def test_reconcile_recovers_dropped_callbacks_and_late_ones_count_once(
    kafka: KafkaSettings, tmp_path: Path, buckets: list[str]
) -> None:
    bucket = new_bucket(buckets, create=False)  # the simulator creates it
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/callbacks/{PROJECT}"
    env = environment(kafka, write_config(tmp_path / "shotline.toml", bucket, url))
    ingest = IngestProcess(
        {**env, "SHOTLINE_INGEST_SPOOL_DIR": str(tmp_path / "spool")}, port, tmp_path / "i.log"
    )
    ingest.start()
    log = tmp_path / "process.log"
    pipeline = spawn(kafka, ["process", "dedupe", "tally", "metrics", "--port", "0"], env, log)
    try:
        bodies_file = tmp_path / "dropped.jsonl"
        code, _, err = await asyncio.to_thread(
            shotline, env, "simulate", "--url", url, "--count", str(TOTAL), "--rate", "250",
            "--dropped-rate", "0.1", "--seed", "12", "--bucket", bucket,
            "--s3-endpoint", S3_ENDPOINT, "--prefix", PREFIX, "--quiet",
            "--dropped-bodies-file", str(bodies_file),
        )  # fmt: skip
        assert code == 0, err
        dropped = [orjson.loads(line) for line in bodies_file.read_text().splitlines()]
        dropped_objects = {body["object"] for body in dropped}
        assert 25 <= len(dropped) <= 80, len(dropped)  # about 10 % of 500
        await wait_for_count(kafka, kafka.topics.screenshots, TOTAL - len(dropped), 120)

        first = await asyncio.to_thread(reconcile, env, "--since", "-1h", "--grace", "0")
        assert (first["listed"], first["seen"]) == (TOTAL, TOTAL - len(dropped))
        assert first["missing_callbacks"] == first["published"] == len(dropped)
        assert set(first["projects"][0]["missing_callback_keys"]) == dropped_objects
        assert first["missing_objects"] == 0
        await wait_for_count(kafka, kafka.topics.screenshots, TOTAL, 120)

        second = await asyncio.to_thread(reconcile, env, "--since", "-1h", "--grace", "0")
        assert (second["seen"], second["missing_callbacks"], second["published"]) == (TOTAL, 0, 0)

        # a restart: the new dedupe rebuilds its seen-set from the object-keyed output
        assert stop(pipeline) == 0, log.read_text()[-3000:]
        pipeline = spawn(kafka, ["process", "dedupe", "tally", "metrics", "--port", "0"], env, log)

        # Agora's callbacks for the dropped screenshots arrive after all, twice each
        async with httpx.AsyncClient(base_url=ingest.url, timeout=10) as client:
            for body in dropped * 2:
                response = await client.post(
                    f"/v1/callbacks/{PROJECT}", content=orjson.dumps(body), headers=JSON_UTF8
                )
                assert response.status_code == 200, response.text
        callbacks = await wait_for_count(
            kafka, kafka.topics.callbacks, TOTAL + 2 * len(dropped), 60
        )
        assert len(callbacks) == TOTAL + 2 * len(dropped)
        deadline = time.monotonic() + 120
        while await billed(env) < TOTAL and time.monotonic() < deadline:
            await asyncio.sleep(1)
        records = await stays_at(kafka, kafka.topics.screenshots, TOTAL, for_s=5)
        assert await billed(env) == TOTAL
    finally:
        assert stop(pipeline) == 0, log.read_text()[-3000:]
        assert ingest.terminate() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful stop
    objects = [orjson.loads(value)["callback"]["object"] for _, _, value in records]
    assert len(set(objects)) == TOTAL
    assert {key for _, key, _ in records} == {o.encode() for o in objects}
    sources = [orjson.loads(value)["source"] for _, _, value in records]
    assert sources.count("reconciler") == len(dropped)
    assert not set(await read_all(kafka, kafka.topics.dlq))
