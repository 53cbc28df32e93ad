"""Which spool file this process owns: the first free slot under an exclusive file lock.

Workers and replicas share nothing but Kafka, so each needs its own spool. A process takes
``spool-<n>.sqlite3`` for the lowest ``n`` whose ``spool-<n>.lock`` it can ``flock``; the lock
dies with the process (even on ``kill -9``), so a restarted worker takes the same slot back
and drains what its predecessor left.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError

__all__ = ["SpoolSlot", "claim_orphans", "claim_slot"]


@dataclass
class SpoolSlot:
    """A held slot; ``release`` (or process exit) frees it."""

    index: int
    path: Path
    _fd: int

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def _try_lock(spool_dir: Path, index: int) -> SpoolSlot | None:
    fd = os.open(spool_dir / f"spool-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return SpoolSlot(index, spool_dir / f"spool-{index}.sqlite3", fd)


def claim_slot(spool_dir: Path, max_slots: int = 256) -> SpoolSlot:
    """Lock and return the lowest free slot in ``spool_dir``."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    for index in range(max_slots):
        slot = _try_lock(spool_dir, index)
        if slot is not None:
            return slot
    raise IngestError(f"all {max_slots} spool slots in {spool_dir} are taken")


def claim_orphans(spool_dir: Path, first: int) -> list[SpoolSlot]:
    """Lock the spool files at slot ``first`` and above that no process holds.

    Slots below ``first`` (the configured worker count) belong to sibling workers, which take
    them back themselves; higher ones are left over from a run with more workers.
    """
    orphans = []
    for path in sorted(spool_dir.glob("spool-*.sqlite3")):
        index_text = path.stem.removeprefix("spool-")
        if not index_text.isdigit() or int(index_text) < first:
            continue
        slot = _try_lock(spool_dir, int(index_text))
        if slot is not None:
            orphans.append(slot)
    return orphans
