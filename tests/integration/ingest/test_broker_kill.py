"""``kill -9`` of the broker under load: every callback answered 200 is in Kafka once the
broker is back, and no answer took longer than Agora's 5 s.

Runs its own single-node Kafka on free ports (never the shared one) and drives the app
in-process at a few hundred callbacks per second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from ingest import IngestSettings, create_app
from schemas import KafkaSettings, ProjectConfig
from shotline.dev.kafka import KafkaNode
from shotline.dev.settings import DevSettings
from shotline.topics import ensure_topics
from tests.integration.ingest.conftest import (
    ADDR,
    KEY,
    free_port,
    read_topic,
    request_id,
    wait_until,
)
from tests.integration.ingest.test_publish import body

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RATE_PER_S = 300
LOAD_S = 14.0
KILL_AT_S = 3.0
RESTART_AT_S = 7.0


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaNode]:
    home = tmp_path / "kafka-home"
    home.mkdir()
    # Reuse the jars the shared dev setup already resolved, instead of running Maven again.
    shared = DevSettings().home / "kafka"
    if shared.is_dir():
        (home / "kafka").symlink_to(shared)
    node = KafkaNode(
        DevSettings(home=home, kafka_port=free_port(), kafka_controller_port=free_port())
    )
    node.up()
    yield node
    node.down(purge=True)


async def test_every_acknowledged_callback_survives_a_broker_kill(
    own_broker: KafkaNode, tmp_path: Path
) -> None:
    kafka = KafkaSettings(bootstrap=own_broker.address, topic_prefix="kill.")
    await ensure_topics(kafka, kafka.topics.specs(partitions=3))
    app = create_app(
        IngestSettings(spool_dir=tmp_path / "spool", producer_stuck_after_s=3.0),
        kafka,
        {KEY: ProjectConfig(callback_addr=ADDR)},
    )
    await app.startup()
    acked: set[str] = set()
    statuses: dict[int, int] = {}
    slowest = 0.0
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://ingest")

    async def one(i: int) -> None:
        nonlocal slowest
        request_id = f"kill-{i}"
        start = time.monotonic()
        response = await client.post(
            f"/v1/callbacks/{KEY}",
            content=orjson.dumps(body(request_id)),
            headers={"content-type": "application/json"},
        )
        slowest = max(slowest, time.monotonic() - start)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 200:
            acked.add(request_id)

    async def chaos() -> None:
        await asyncio.sleep(KILL_AT_S)
        pid = own_broker.process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(RESTART_AT_S - KILL_AT_S)
        await asyncio.to_thread(own_broker.up)

    try:
        chaos_task = asyncio.create_task(chaos())
        tasks = []
        start = time.monotonic()
        for i in range(int(RATE_PER_S * LOAD_S)):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(max(0.0, start + (i + 1) / RATE_PER_S - time.monotonic()))
        await asyncio.gather(*tasks)
        await chaos_task
        spool = app.service.spool
        assert spool is not None

        async def drained() -> bool:
            return spool.depth == 0

        await wait_until(drained, timeout_s=90)
        registry = app.service.metrics.registry
        via_spool = registry.get_sample_value("shotline_ingest_accepted_total", {"via": "spool"})
        recreated = registry.get_sample_value("shotline_ingest_producer_recreated_total")
    finally:
        await client.aclose()
        await app.shutdown()

    in_kafka = {request_id(r) for r in await read_topic(kafka, kafka.topics.callbacks, 60)}
    assert statuses.get(200, 0) > RATE_PER_S * LOAD_S * 0.9, statuses
    assert acked - in_kafka == set()
    assert slowest < 5.0
    assert via_spool  # the kill really hit the load: some callbacks were accepted by the spool
    print(
        f"statuses={statuses} slowest={slowest:.2f}s acked={len(acked)} "
        f"in_kafka={len(in_kafka)} via_spool={via_spool} recreated={recreated}"
    )
