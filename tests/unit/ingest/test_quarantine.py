"""A head record the broker refuses for good is quarantined, never deleted, never blocking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ingest import IngestMetrics
from schemas import CallbackEnvelope
from tests.unit.ingest.conftest import (
    SEED_OBJECT,
    FakePublisher,
    client_for,
    make_app,
    request_id,
)
from tests.unit.ingest.test_delivery import HEADERS, URL, body, wait_for
from tests.unit.ingest.test_spool import open_spool, record


async def test_refused_head_record_is_quarantined_after_n_attempts_and_draining_goes_on(
    tmp_path: Path,
) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher, quarantine_after_attempts=3)
    await app.startup()
    try:
        async with client_for(app) as c:
            for i in range(4):
                assert (await c.post(URL, content=body(i), headers=HEADERS)).status_code == 200
            publisher.refused_ids = {b"req-0"}  # e.g. larger than the broker accepts
            publisher.down = False
            await wait_for(lambda: len(publisher.published) == 3)
            spool = app.service.spool
            assert spool is not None
            await wait_for(lambda: spool.depth == 0)
            metrics = (await c.get("/metrics")).text
            ready = await c.get("/readyz")
    finally:
        await app.shutdown()
    assert publisher.refusals == 3  # tried exactly N times, then moved out of the way
    assert {request_id(r) for r in publisher.published} == {b"req-1", b"req-2", b"req-3"}
    assert "shotline_ingest_spool_quarantined_total 1.0" in metrics
    assert "shotline_ingest_spool_quarantined_records 1.0" in metrics
    assert ready.status_code == 200
    with sqlite3.connect(tmp_path / "spool" / "spool-0.sqlite3") as db:
        rows = db.execute("SELECT key, value, reason FROM quarantine").fetchall()
        left = db.execute("SELECT COUNT(*) FROM spool").fetchone()
    [(key, value, reason)] = rows
    assert bytes(key) == SEED_OBJECT.encode()  # keyed by the screenshot's object
    assert CallbackEnvelope.model_validate_json(value).callback.requestId == "req-0"
    assert reason == "refused by the broker"
    assert left == (0,)


async def test_a_record_refused_fewer_than_n_times_stays_in_the_spool(tmp_path: Path) -> None:
    publisher = FakePublisher()
    publisher.down = True
    app = make_app(tmp_path, publisher, quarantine_after_attempts=1000)
    await app.startup()
    try:
        async with client_for(app) as c:
            assert (await c.post(URL, content=body(0), headers=HEADERS)).status_code == 200
            publisher.refused_ids = {b"req-0"}
            publisher.down = False
            await wait_for(lambda: publisher.refusals >= 5)
        spool = app.service.spool
        assert spool is not None
        assert (spool.depth, spool.quarantined) == (1, 0)
    finally:
        await app.shutdown()


async def test_quarantined_records_survive_reopen_and_set_the_gauge(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    spool = open_spool(path)
    await spool.put(record(1))
    await spool.put(record(2))
    [head, _] = await spool.peek(10)
    await spool.quarantine(head, "refused")
    assert (spool.depth, spool.bytes, spool.quarantined) == (1, 100, 1)
    await spool.close()
    metrics = IngestMetrics()
    reopened = open_spool(path, metrics=metrics)
    assert [r.record for r in await reopened.peek(10)] == [record(2)]
    assert reopened.quarantined == 1
    assert metrics.registry.get_sample_value("shotline_ingest_spool_quarantined_records") == 1.0
    await reopened.close()
