"""The spool's quarantine table: records the broker refused for good.

Such a record would block the drain forever; moving it here (same SQLite file, same columns
plus when and why) lets the records behind it go on while it is kept for an operator to
inspect and republish. An accepted record is never deleted unsent.
"""

from __future__ import annotations

import sqlite3
import time

__all__ = ["create_quarantine", "move_to_quarantine"]

_QUARANTINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    headers BLOB NOT NULL,
    crc INTEGER NOT NULL,
    quarantined REAL NOT NULL,
    reason TEXT NOT NULL
)
"""


def create_quarantine(db: sqlite3.Connection) -> int:
    """Create the table if needed; return how many records it holds."""
    db.execute(_QUARANTINE_SCHEMA)
    (count,) = db.execute("SELECT COUNT(*) FROM quarantine").fetchone()
    return int(count)


def move_to_quarantine(db: sqlite3.Connection | None, row_id: int, reason: str) -> int | None:
    """Move spool row ``row_id`` to the quarantine table in one transaction; return its
    payload size, or None if the row is gone."""
    assert db is not None
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT LENGTH(value) FROM spool WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            db.execute("ROLLBACK")
            return None
        db.execute(
            "INSERT INTO quarantine (id, created, topic, key, value, headers, crc,"
            " quarantined, reason) SELECT id, created, topic, key, value, headers, crc, ?, ?"
            " FROM spool WHERE id = ?",
            (time.time(), reason, row_id),
        )
        db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return int(row[0])
