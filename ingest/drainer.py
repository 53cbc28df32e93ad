"""The background task that moves spooled records to Kafka, oldest first.

A record leaves the spool only after the broker acknowledged it, so a crash between the ack
and the delete republishes it (a duplicate, which dedupe absorbs), never loses it. When
sends keep failing for ``stuck_after_s`` the producer is replaced (aiokafka issue #1017).

A head record the broker refuses for good (too large, not authorised, unknown topic) on
``quarantine_after`` rounds in a row is moved to the spool's quarantine table, so it cannot
block the records behind it; it is never deleted unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ingest.delivery import Delivery
from ingest.metrics import IngestMetrics
from ingest.publisher import Sent
from ingest.spool import SpooledRecord

# Module preamble and constructor, alike in shape to rejections.py: no logic to share.
__all__ = ["Drainer"]

log = logging.getLogger("shotline.ingest.drainer")


class Drainer:
    def __init__(
        self,
        delivery: Delivery,
        metrics: IngestMetrics,
        *,
        batch: int,
        interval_s: float,
        deadline_s: float,
        stuck_after_s: float,
        quarantine_after: int = 5,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self._delivery = delivery
        self._publisher = delivery.publisher
        self._spool = delivery.spool
        self._metrics = metrics
        self._batch = batch
        self._interval_s = interval_s
        self._deadline_s = deadline_s
        self._stuck_after_s = stuck_after_s
        self._quarantine_after = quarantine_after
        self._head_id: int | None = None
        self._head_refusals = 0
        self._failing_since: float | None = None
        self._connect_backoff = interval_s / 2
        self._next_connect = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="spool-drainer")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = await self.drain_once()
            except Exception:  # the drainer must outlive any one bad round
                log.exception("spool drain round failed")
                moved = 0
            if moved == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._interval_s)

    async def drain_once(self) -> int:
        """Publish one batch of the oldest records; return how many left the spool."""
        await self._spool.oldest_age_s()
        if not self._publisher.connected:
            if time.monotonic() < self._next_connect:
                return 0
            await self._publisher.start()  # a no-op if another drainer connected it already
            if not self._publisher.connected:
                # Back off (up to 16 intervals) so an outage is not a reconnect storm.
                self._connect_backoff = min(self._connect_backoff * 2, 16 * self._interval_s)
                self._next_connect = time.monotonic() + self._connect_backoff
                return 0
            self._connect_backoff = self._interval_s / 2
        rows = await self._spool.peek(self._batch)
        if not rows:
            self._failing_since = None
            self._delivery.set_degraded(False)
            return 0
        sent = await self._publisher.publish_many([r.record for r in rows], self._deadline_s)
        done = [row for row, result in zip(rows, sent, strict=True) if result is Sent.ACKED]
        await self._spool.delete(done)
        await self._count_refusal(rows[0], sent[0])
        self._metrics.drained.inc(len(done))
        if len(done) == len(rows):
            self._failing_since = None
        elif self._stuck():
            await self._publisher.recreate()
        return len(done)

    async def _count_refusal(self, head: SpooledRecord, result: Sent) -> None:
        """Quarantine ``head`` once the broker refused it ``quarantine_after`` times running."""
        if result is not Sent.REFUSED:
            self._head_id, self._head_refusals = None, 0
            return
        if self._head_id != head.id:
            self._head_id, self._head_refusals = head.id, 0
        self._head_refusals += 1
        if self._head_refusals < self._quarantine_after:
            return
        log.error(
            "quarantining spooled record %d for %s: refused by Kafka %d times",
            head.id,
            head.record.topic,
            self._head_refusals,
        )
        await self._spool.quarantine(head, "refused by the broker")
        self._head_id, self._head_refusals = None, 0

    def _stuck(self) -> bool:
        """True once sends have failed for ``stuck_after_s`` (then the clock restarts)."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            return False
        if now - self._failing_since < self._stuck_after_s:
            return False
        self._failing_since = None
        return True
