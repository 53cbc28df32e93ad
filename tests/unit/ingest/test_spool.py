"""The SQLite spool: group commit, durability across reopen, torn writes, the size limit."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from ingest import IngestError, IngestMetrics, OutRecord, Spool, SpoolFullError
from ingest.slots import claim_slot


def record(i: int, size: int = 100) -> OutRecord:
    value = (f"{i:08d}" + "x" * size)[:size].encode()
    return OutRecord("t.callbacks", f"req-{i}".encode(), value, (("traceparent", b"\x00\xff-tp"),))


def open_spool(
    path: Path, max_bytes: int = 10_000_000, metrics: IngestMetrics | None = None
) -> Spool:
    spool = Spool(path, metrics or IngestMetrics(), max_bytes=max_bytes, commit_max_records=1000)
    spool.open()
    return spool


async def test_concurrent_puts_share_few_commits_and_keep_their_order(tmp_path: Path) -> None:
    metrics = IngestMetrics()
    spool = open_spool(tmp_path / "s.sqlite3", metrics=metrics)
    await asyncio.gather(*(spool.put(record(i)) for i in range(300)))
    commits = metrics.registry.get_sample_value("shotline_ingest_spool_commits_total")
    assert commits is not None
    assert commits <= 10  # 300 records, not 300 fsyncs
    rows = await spool.peek(1000)
    assert [r.record.key for r in rows] == [f"req-{i}".encode() for i in range(300)]
    assert spool.depth == 300
    await spool.close()


async def test_committed_records_survive_reopen_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = open_spool(path)
    for i in range(3):
        await first.put(record(i))
    # No close: the process "dies" here; a second open must see every acknowledged put.
    second = open_spool(path)
    rows = await second.peek(10)
    assert [r.record for r in rows] == [record(i) for i in range(3)]
    assert second.depth == 3
    assert second.bytes == 300
    await second.close()
    await first.close()


async def test_torn_last_commit_is_discarded_and_earlier_ones_kept(tmp_path: Path) -> None:
    live = tmp_path / "live"
    spool = open_spool(live / "s.sqlite3")
    await spool.put(record(1))
    await spool.put(record(2, size=3000))
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    # Copy the files as a kill -9 would leave them, then tear the tail of the last commit.
    shutil.copy(live / "s.sqlite3", crashed / "s.sqlite3")
    shutil.copy(live / "s.sqlite3-wal", crashed / "s.sqlite3-wal")
    wal = crashed / "s.sqlite3-wal"
    wal.write_bytes(wal.read_bytes()[:-700])
    recovered = open_spool(crashed / "s.sqlite3")
    rows = await recovered.peek(10)
    assert [r.record for r in rows] == [record(1)]
    check = sqlite3.connect(crashed / "s.sqlite3").execute("PRAGMA integrity_check").fetchone()
    assert check == ("ok",)
    await recovered.close()
    await spool.close()


async def test_a_row_failing_its_crc_is_counted_and_never_returned(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    metrics = IngestMetrics()
    spool = open_spool(path, metrics=metrics)
    await spool.put(record(1))
    await spool.put(record(2))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE spool SET value = ? WHERE key = ?", (b"garbage", b"req-1"))
    rows = await spool.peek(10)
    assert [r.record for r in rows] == [record(2)]
    assert metrics.registry.get_sample_value("shotline_ingest_spool_corrupt_total") == 1.0
    await spool.close()


async def test_full_spool_refuses_and_raises_the_alert_until_drained(tmp_path: Path) -> None:
    metrics = IngestMetrics()
    spool = open_spool(tmp_path / "s.sqlite3", max_bytes=250, metrics=metrics)
    await spool.put(record(1))
    await spool.put(record(2))
    with pytest.raises(SpoolFullError):
        await spool.put(record(3))
    assert metrics.registry.get_sample_value("shotline_ingest_spool_full") == 1.0
    assert not spool.writable
    assert spool.bytes == 200  # the refused record reserved nothing
    assert spool.depth == 2
    await spool.delete(await spool.peek(1))
    assert metrics.registry.get_sample_value("shotline_ingest_spool_full") == 0.0
    await spool.put(record(3))
    assert [r.record.key for r in await spool.peek(10)] == [b"req-2", b"req-3"]
    await spool.close()


async def test_concurrent_puts_never_overshoot_the_limit(tmp_path: Path) -> None:
    spool = open_spool(tmp_path / "s.sqlite3", max_bytes=1000)
    results = await asyncio.gather(
        *(spool.put(record(i)) for i in range(25)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 10
    assert all(isinstance(r, SpoolFullError) for r in results if r is not None)
    assert spool.depth == 10
    await spool.close()


def test_each_process_claims_its_own_slot_and_a_freed_slot_is_reused(tmp_path: Path) -> None:
    first = claim_slot(tmp_path)
    second = claim_slot(tmp_path)
    assert (first.index, second.index) == (0, 1)
    assert first.path != second.path
    first.release()
    third = claim_slot(tmp_path)
    assert third.index == 0
    second.release()
    third.release()


async def test_an_unexpected_commit_error_fails_the_waiting_puts_and_the_writer_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = open_spool(tmp_path / "s.sqlite3")
    real_commit = spool._commit
    calls = 0

    def commit_failing_once(rows: list[tuple[float, str, bytes, bytes, bytes, int]]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("not an sqlite3.Error")
        real_commit(rows)

    monkeypatch.setattr(spool, "_commit", commit_failing_once)
    waiting = asyncio.gather(spool.put(record(1)), spool.put(record(2)), return_exceptions=True)
    results = await asyncio.wait_for(waiting, 5.0)  # they must be answered, not left waiting
    assert all(isinstance(r, IngestError) for r in results)
    await asyncio.wait_for(spool.put(record(3)), 5.0)
    assert [r.record for r in await spool.peek(10)] == [record(3)]
    assert (spool.depth, spool.bytes) == (1, 100)
    await spool.close()
