"""Spool files whose process is gone are adopted, drained and deleted; held ones never."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.unit.ingest.conftest import FakePublisher, client_for, make_app, request_id
from tests.unit.ingest.test_delivery import HEADERS, URL, body, wait_for


async def test_rolling_restart_drains_the_old_slot_once_the_old_process_exits(
    tmp_path: Path,
) -> None:
    publisher = FakePublisher()
    publisher.down = True
    old = make_app(tmp_path, publisher, orphan_scan_interval_s=0.05)
    await old.startup()
    async with client_for(old) as c:
        for i in range(3):
            assert (await c.post(URL, content=body(i), headers=HEADERS)).status_code == 200
    # The new process starts while the old one still holds slot 0: it gets slot 1.
    new = make_app(tmp_path, publisher, workers=1, orphan_scan_interval_s=0.05)
    await new.startup()
    try:
        assert new.service.slot is not None
        assert new.service.slot.index == 1
        await asyncio.sleep(0.3)  # several rescans while slot 0 is held: it is left alone
        assert old.service.spool is not None
        assert old.service.spool.depth == 3
        assert (tmp_path / "spool" / "spool-0.sqlite3").exists()
        await old.shutdown()  # the old process exits with its records still spooled
        publisher.down = False
        await wait_for(lambda: len(publisher.published) == 3)
        await wait_for(lambda: not (tmp_path / "spool" / "spool-0.sqlite3").exists())
    finally:
        await new.shutdown()
    assert {request_id(r) for r in publisher.published} == {f"req-{i}".encode() for i in range(3)}
    assert (tmp_path / "spool" / "spool-1.sqlite3").exists()  # its own file is never adopted
