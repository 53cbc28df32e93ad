"""Draining spool files whose process is gone.

Each worker claims one slot, the lowest free one. After a rolling restart (the new process
took slot 1 while the old one still held slot 0), a crash, or a smaller ``--workers``, a spool
file may hold accepted callbacks that no live process drains. Every worker looks for such
files at start and then every ``orphan_scan_interval_s``: it adopts each one whose lock it can
take (never one another live process holds), drains it to Kafka through its own producer,
then deletes it while still holding the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ingest.delivery import Delivery
from ingest.drainer import Drainer
from ingest.metrics import IngestMetrics
from ingest.publisher import Publisher
from ingest.settings import IngestSettings
from ingest.slots import SpoolSlot, claim_orphans
from ingest.spool import Spool

__all__ = ["OrphanDrainer"]

log = logging.getLogger("shotline.ingest.orphans")


class OrphanDrainer:
    def __init__(self, settings: IngestSettings, publisher: Publisher) -> None:
        self._settings = settings
        self._publisher = publisher
        self._own: int | None = None
        self._drains: dict[int, asyncio.Task[None]] = {}
        self._scanner: asyncio.Task[None] | None = None

    def start(self, own_slot: int) -> None:
        """Adopt the orphans now, then rescan every ``orphan_scan_interval_s``."""
        self._own = own_slot
        self.scan()
        self._scanner = asyncio.get_running_loop().create_task(self._rescan(), name="orphans")

    def scan(self) -> int:
        """Adopt every spool file no live process holds; return how many were adopted."""
        skip = set(self._drains)
        if self._own is not None:
            skip.add(self._own)
        loop = asyncio.get_running_loop()
        slots = claim_orphans(self._settings.spool_dir, skip)
        for slot in slots:
            self._drains[slot.index] = loop.create_task(self._drain(slot))
        return len(slots)

    async def _rescan(self) -> None:
        while True:
            await asyncio.sleep(self._settings.orphan_scan_interval_s)
            try:
                self.scan()
            except OSError:  # a spool dir hiccup must not end the rescans
                log.exception("scanning for orphaned spool files failed")

    async def _drain(self, slot: SpoolSlot) -> None:
        s = self._settings
        # A scratch registry: the orphan's gauges must not overwrite this worker's own.
        metrics = IngestMetrics()
        spool = Spool(slot.path, metrics, max_bytes=s.spool_max_bytes, commit_max_records=1)
        emptied = False
        try:
            spool.open()
            if spool.depth:
                log.warning("draining %d records left in %s", spool.depth, slot.path)
            delivery = Delivery(self._publisher, spool, metrics, s.publish_deadline_s)
            drainer = Drainer(
                delivery,
                metrics,
                batch=s.drain_batch,
                interval_s=s.drain_interval_s,
                deadline_s=s.publish_deadline_s,
                stuck_after_s=s.producer_stuck_after_s,
                quarantine_after=s.quarantine_after_attempts,
            )
            while spool.depth > 0:
                if await drainer.drain_once() == 0:
                    await asyncio.sleep(s.drain_interval_s)
            # Quarantined records are kept: a file holding any is not deleted.
            emptied = spool.quarantined == 0
        except Exception:
            log.exception("draining orphaned spool %s failed; retried on a later scan", slot.path)
        finally:
            await spool.close()
            if emptied:
                for suffix in ("", "-wal", "-shm"):
                    slot.path.with_name(slot.path.name + suffix).unlink(missing_ok=True)
            slot.release()
            self._drains.pop(slot.index, None)

    async def stop(self) -> None:
        """Stop scanning and draining (what is left stays in the files for the next run)."""
        tasks = list(self._drains.values())
        if self._scanner is not None:
            tasks.append(self._scanner)
            self._scanner = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._drains.clear()
