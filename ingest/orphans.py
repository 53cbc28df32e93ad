"""Draining spool files left by a run with more workers than this one.

Each worker claims one slot; when ``--workers`` shrinks, the higher slots would otherwise
keep their accepted callbacks forever. Every worker adopts the orphans it can lock, drains
them to Kafka through its own producer, then closes and deletes them.
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
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Adopt every free slot at or above the configured worker count."""
        for slot in claim_orphans(self._settings.spool_dir, first=self._settings.workers):
            task = asyncio.get_running_loop().create_task(self._drain(slot))
            self._tasks.append(task)

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
            )
            while spool.depth > 0:
                if await drainer.drain_once() == 0:
                    await asyncio.sleep(s.drain_interval_s)
            emptied = True
        finally:
            await spool.close()
            if emptied:
                slot.path.unlink(missing_ok=True)
            slot.release()

    async def stop(self) -> None:
        """Stop draining (what is left stays in the file for the next run)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
