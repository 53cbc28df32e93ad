"""The local spool: accepted callbacks Kafka did not ack in time, durable before the 200.

SQLite from the standard library in WAL mode with ``synchronous=FULL``, so a commit is on
disk when it returns. Concurrent ``put`` calls are group-committed: while one transaction is
being written and fsync'd on the spool's own thread, new records queue up and go into the
next transaction together, so throughput does not fall to one fsync per request.

A ``kill -9`` mid-commit leaves a torn tail in the WAL; SQLite's frame checksums discard it
on the next open, and since ``put`` only returns after the commit, that record was never
acknowledged. Each row also carries a CRC32 over its bytes; a row that fails it is counted
and dropped by ``peek`` rather than published corrupt.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson

from ingest.errors import IngestError, SpoolFullError
from ingest.metrics import IngestMetrics
from ingest.quarantine import create_quarantine, move_to_quarantine
from ingest.records import OutRecord

__all__ = ["Spool", "SpooledRecord"]

log = logging.getLogger("shotline.ingest.spool")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    headers BLOB NOT NULL,
    crc INTEGER NOT NULL
)
"""
_INSERT = "INSERT INTO spool (created, topic, key, value, headers, crc) VALUES (?,?,?,?,?,?)"


@dataclass(frozen=True, slots=True)
class SpooledRecord:
    id: int
    created: float
    record: OutRecord


def _crc(topic: str, key: bytes, value: bytes, headers: bytes) -> int:
    return zlib.crc32(value, zlib.crc32(headers, zlib.crc32(key, zlib.crc32(topic.encode()))))


def _encode_headers(record: OutRecord) -> bytes:
    # latin-1 maps every byte to one code point, so header values round-trip exactly.
    return orjson.dumps([[name, value.decode("latin-1")] for name, value in record.headers])


def _decode_headers(blob: bytes) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, value.encode("latin-1")) for name, value in orjson.loads(blob))


class Spool:
    """One worker's spool file. Use ``open`` first; all SQLite work runs on one thread."""

    def __init__(
        self, path: Path, metrics: IngestMetrics, *, max_bytes: int, commit_max_records: int
    ) -> None:
        self.path = path
        self._metrics = metrics
        self._max_bytes = max_bytes
        self._commit_max = commit_max_records
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[OutRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.depth = 0
        self.bytes = 0
        self.quarantined = 0
        self._full = False

    def open(self) -> None:
        """Open (creating if needed) the file; count what an earlier run left behind."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(_SCHEMA)
        self.quarantined = create_quarantine(db)
        self.depth, total = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM spool"
        ).fetchone()
        self.bytes = int(total)
        self._db = db
        self._publish_gauges()

    @property
    def writable(self) -> bool:
        """Open, and has not refused a record since it last shrank."""
        return self._db is not None and not self._full and self.bytes < self._max_bytes

    def _publish_gauges(self) -> None:
        self._metrics.spool_depth.set(self.depth)
        self._metrics.spool_bytes.set(self.bytes)
        self._metrics.spool_quarantined.set(self.quarantined)

    async def put(self, record: OutRecord) -> None:
        """Return once ``record`` is committed to disk; ``SpoolFullError`` if it does not fit."""
        size = len(record.value)
        if self._db is None:
            raise IngestError("spool is not open")
        if self.bytes + size > self._max_bytes:
            self._full = True
            self._metrics.spool_full.set(1)
            raise SpoolFullError(f"spool holds {self.bytes} of {self._max_bytes} bytes")
        self.bytes += size  # reserved now so concurrent puts cannot overshoot the limit
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())
        try:
            await asyncio.shield(fut)
        except IngestError:
            self.bytes -= size
            raise

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[: self._commit_max]
            del self._pending[: self._commit_max]
            try:
                rows = [
                    (time.time(), r.topic, r.key, r.value, h, _crc(r.topic, r.key, r.value, h))
                    for r, h in ((r, _encode_headers(r)) for r, _ in batch)
                ]
                await loop.run_in_executor(self._thread, self._commit, rows)
            except Exception as exc:  # any failure must answer the waiters
                # Whatever went wrong, the waiting requests get an IngestError (a JSON 503,
                # Agora retries) and this loop goes on with the next batch instead of dying
                # and leaving them waiting forever. Logged once per failed commit.
                log.error("spool commit of %d records failed: %r", len(batch), exc)
                error = IngestError(f"spool write failed: {type(exc).__name__}: {exc}")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(error)
                continue
            self.depth += len(batch)
            self._metrics.spool_commits.inc()
            self._publish_gauges()
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    def _commit(self, rows: list[tuple[float, str, bytes, bytes, bytes, int]]) -> None:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(_INSERT, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    async def peek(self, limit: int) -> list[SpooledRecord]:
        """The oldest ``limit`` intact records, in the order they were accepted."""
        rows = await asyncio.get_running_loop().run_in_executor(self._thread, self._select, limit)
        good: list[SpooledRecord] = []
        corrupt: list[int] = []
        for row_id, created, topic, key, value, headers, crc in rows:
            if _crc(topic, key, value, headers) != crc:
                corrupt.append(row_id)
                continue
            record = OutRecord(topic, bytes(key), bytes(value), _decode_headers(headers))
            good.append(SpooledRecord(row_id, created, record))
        if corrupt:
            self._metrics.spool_corrupt.inc(len(corrupt))
            await self._delete(corrupt)
        return good

    def _select(self, limit: int) -> list[tuple[int, float, str, bytes, bytes, bytes, int]]:
        assert self._db is not None
        sql = "SELECT id, created, topic, key, value, headers, crc FROM spool ORDER BY id LIMIT ?"
        return self._db.execute(sql, (limit,)).fetchall()

    async def delete(self, records: list[SpooledRecord]) -> None:
        """Forget records Kafka has acknowledged."""
        if records:
            await self._delete([r.id for r in records])

    async def _delete(self, ids: list[int]) -> None:
        freed = await asyncio.get_running_loop().run_in_executor(self._thread, self._remove, ids)
        self.depth -= len(ids)
        self.bytes -= freed
        if ids:
            self._full = False
            self._metrics.spool_full.set(0)
        self._publish_gauges()

    def _remove(self, ids: list[int]) -> int:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            marks = ",".join("?" * len(ids))
            (freed,) = self._db.execute(
                f"SELECT COALESCE(SUM(LENGTH(value)), 0) FROM spool WHERE id IN ({marks})",  # noqa: S608
                ids,
            ).fetchone()
            self._db.execute(f"DELETE FROM spool WHERE id IN ({marks})", ids)  # noqa: S608
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return int(freed)

    async def quarantine(self, record: SpooledRecord, reason: str) -> None:
        """Move ``record`` out of the spool into the ``quarantine`` table of the same file,
        in one transaction: it stops blocking the drain but is never lost."""
        freed = await asyncio.get_running_loop().run_in_executor(
            self._thread, move_to_quarantine, self._db, record.id, reason
        )
        if freed is None:
            return
        self.depth -= 1
        self.bytes -= freed
        self.quarantined += 1
        self._full = False
        self._metrics.spool_full.set(0)
        self._metrics.spool_quarantined_total.inc()
        self._publish_gauges()

    async def oldest_age_s(self) -> float:
        loop = asyncio.get_running_loop()
        created = await loop.run_in_executor(self._thread, self._oldest)
        age = 0.0 if created is None else max(0.0, time.time() - created)
        self._metrics.spool_age.set(age)
        return age

    def _oldest(self) -> float | None:
        assert self._db is not None
        row = self._db.execute("SELECT created FROM spool ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    async def close(self) -> None:
        """Finish queued commits, checkpoint the WAL and close the file."""
        while self._writer is not None and not self._writer.done():
            await self._writer
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._thread, _checkpoint_close, db)
        self._thread.shutdown(wait=True)


def _checkpoint_close(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
