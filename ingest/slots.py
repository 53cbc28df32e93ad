"""Which spool file this process owns: the first free slot under an exclusive file lock.

Workers and replicas share nothing but Kafka, so each needs its own spool. A process takes
``spool-<n>.sqlite3`` for the lowest ``n`` whose ``spool-<n>.lock`` it can ``flock``; the lock
dies with the process (even on ``kill -9``). A file whose lock is free belongs to a process
that is gone; ``claim_orphans`` finds those so a live worker can drain and delete them.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Collection
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


def claim_orphans(spool_dir: Path, skip: Collection[int]) -> list[SpoolSlot]:
    """Lock every spool file in ``spool_dir`` that no live process holds, except ``skip``.

    A file whose lock another process (or this one, e.g. a drain already running) holds is
    never touched: ``flock`` locks belong to an open file description, so a second lock
    attempt from this process fails too. Whatever the worker count, this finds the files of
    processes that are gone: after a rolling restart, a crash or a smaller ``--workers``.
    """
    orphans = []
    for path in sorted(spool_dir.glob("spool-*.sqlite3")):
        index_text = path.stem.removeprefix("spool-")
        if not index_text.isdigit() or int(index_text) in skip:
            continue
        slot = _try_lock(spool_dir, int(index_text))
        if slot is None:
            continue
        if not slot.path.exists():  # drained and deleted by its adopter meanwhile
            slot.release()
            continue
        orphans.append(slot)
    return orphans
