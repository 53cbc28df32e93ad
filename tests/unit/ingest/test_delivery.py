"""Publish under a deadline, else spool; the drainer; 503 when the spool is full."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson

from tests.unit.ingest.conftest import (
    KEY,
    FakePublisher,
    callback_body,
    client_for,
    make_app,
    request_id,
)

URL = f"/v1/callbacks/{KEY}"
HEADERS = {"content-type": "application/json"}


def body(i: int) -> bytes:
    return orjson.dumps(callback_body(requestId=f"req-{i}"))


async def wait_for(condition: object, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_broker_down_spools_answers_200_and_drains_in_order_when_back(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher)
    await app.startup()
    try:
        async with client_for(app) as c:
            answers = [await c.post(URL, content=body(i), headers=HEADERS) for i in range(20)]
            assert {r.status_code for r in answers} == {200}
            assert {r.json()["via"] for r in answers} == {"spool"}
            assert publisher.published == []
            assert (await c.get("/readyz")).status_code == 200  # spool writable
            publisher.down = False
            await wait_for(lambda: len(publisher.published) == 20)
            assert [request_id(r) for r in publisher.published] == [
                f"req-{i}".encode() for i in range(20)
            ]
            delivery = app.service.delivery
            assert delivery is not None
            await wait_for(lambda: not delivery.degraded)
            after = await c.post(URL, content=body(99), headers=HEADERS)
            assert after.json()["via"] == "kafka"
            metrics = (await c.get("/metrics")).text
    finally:
        await app.shutdown()
    assert "shotline_ingest_drained_total 20.0" in metrics
    assert "shotline_ingest_spool_depth_records 0.0" in metrics


async def test_slow_broker_hits_the_deadline_and_the_callback_is_spooled(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.delay_s = 10.0
    app = make_app(tmp_path, publisher, publish_deadline_s=0.2)
    await app.startup()
    try:
        async with client_for(app) as c:
            start = time.monotonic()
            response = await c.post(URL, content=body(1), headers=HEADERS)
            elapsed = time.monotonic() - start
    finally:
        await app.shutdown()
    assert response.status_code == 200
    assert response.json()["via"] == "spool"
    assert 0.2 <= elapsed < 1.5


async def test_full_spool_answers_503_json_never_200(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher, spool_max_bytes=3000)
    await app.startup()
    try:
        async with client_for(app) as c:
            answers = [await c.post(URL, content=body(i), headers=HEADERS) for i in range(20)]
            metrics = (await c.get("/metrics")).text
    finally:
        await app.shutdown()
    codes = [r.status_code for r in answers]
    first_503 = codes.index(503)
    assert 0 < first_503 < 20
    assert codes[first_503:] == [503] * (20 - first_503)
    assert answers[-1].json() == {"status": "error", "error": "spool_full", "retry": True}
    assert "shotline_ingest_spool_full 1.0" in metrics


async def test_records_left_by_an_earlier_run_drain_after_restart(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.down = True
    first = make_app(tmp_path, publisher)
    await first.startup()
    async with client_for(first) as c:
        for i in range(5):
            assert (await c.post(URL, content=body(i), headers=HEADERS)).status_code == 200
    await first.shutdown()
    publisher.down = False
    second = make_app(tmp_path, publisher)
    await second.startup()
    try:
        await wait_for(lambda: len(publisher.published) == 5)
    finally:
        await second.shutdown()
    assert {request_id(r) for r in publisher.published} == {f"req-{i}".encode() for i in range(5)}


async def test_producer_failing_past_the_stuck_limit_is_recreated(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher, producer_stuck_after_s=0.2)
    await app.startup()
    try:
        async with client_for(app) as c:
            assert (await c.post(URL, content=body(1), headers=HEADERS)).status_code == 200
        await wait_for(lambda: publisher.recreated >= 1)
    finally:
        await app.shutdown()


async def test_spool_left_by_a_larger_worker_count_is_adopted_drained_and_removed(
    tmp_path: Path,
) -> None:
    publisher = FakePublisher()
    publisher.down = True
    apps = [make_app(tmp_path, publisher) for _ in range(3)]  # three "workers"
    for app in apps:
        await app.startup()
    async with client_for(apps[2]) as c:
        for i in range(4):
            assert (await c.post(URL, content=body(i), headers=HEADERS)).status_code == 200
    for app in apps:
        await app.shutdown()
    assert (tmp_path / "spool" / "spool-2.sqlite3").exists()
    publisher.down = False
    survivor = make_app(tmp_path, publisher, workers=1)
    await survivor.startup()
    try:
        await wait_for(lambda: len(publisher.published) == 4)
        await wait_for(lambda: not (tmp_path / "spool" / "spool-2.sqlite3").exists())
    finally:
        await survivor.shutdown()
    assert {request_id(r) for r in publisher.published} == {f"req-{i}".encode() for i in range(4)}
    assert not (tmp_path / "spool" / "spool-1.sqlite3").exists()  # empty orphans go too


async def test_readyz_is_503_when_kafka_is_down_and_the_spool_is_full(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher, spool_max_bytes=1500)
    await app.startup()
    try:
        async with client_for(app) as c:
            assert (await c.get("/readyz")).status_code == 200
            while (await c.post(URL, content=body(0), headers=HEADERS)).status_code == 200:
                pass
            ready = await c.get("/readyz")
    finally:
        await app.shutdown()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["spool_writable"] is False


async def test_an_unexpected_spool_failure_answers_json_503_instead_of_hanging(
    tmp_path: Path,
) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher)
    await app.startup()
    spool = app.service.spool
    assert spool is not None

    def broken_commit(rows: object) -> None:
        raise ValueError("a bug, not an sqlite3.Error")

    spool._commit = broken_commit  # type: ignore[method-assign,assignment]
    try:
        async with client_for(app) as c:
            answer = await asyncio.wait_for(c.post(URL, content=body(1), headers=HEADERS), 5.0)
    finally:
        await app.shutdown()
    assert answer.status_code == 503
    assert answer.json() == {"status": "error", "error": "unavailable", "retry": True}
