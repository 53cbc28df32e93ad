"""Counting rejected callbacks and, optionally, writing them to ``shotline.rejected.v1``.

The record never carries the URL key of an unknown project, and the body only truncated.
Writing is best effort and off the response path: a rejected callback is never spooled.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from ingest.callbacks import Rejection
from ingest.errors import PublishError
from ingest.metrics import IngestMetrics
from ingest.publisher import Publisher
from ingest.records import OutRecord
from schemas.rejected import RejectedCallback

__all__ = ["RejectionSink"]

log = logging.getLogger("shotline.ingest.rejected")


class RejectionSink:
    def __init__(
        self,
        metrics: IngestMetrics,
        publisher: Publisher | None,
        topic: str,
        payload_max_bytes: int,
        deadline_s: float,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self._metrics = metrics
        self._publisher = publisher
        self._topic = topic
        self._max = payload_max_bytes
        self._deadline_s = deadline_s
        self._tasks: set[asyncio.Task[None]] = set()

    def record(
        self, rejection: Rejection, project: str | None, body: bytes, source_ip: str | None
    ) -> None:
        """Count the rejection; if enabled, schedule its record without awaiting it."""
        self._metrics.rejected.labels(reason=rejection.reason).inc()
        if self._publisher is None:
            return
        record = RejectedCallback(
            received_at=datetime.now(UTC),
            project=project,
            status=rejection.status,
            reason=rejection.reason,
            detail=rejection.detail[:500],
            source_ip=source_ip,
            payload=body[: self._max].decode("utf-8", errors="replace"),
            payload_truncated=len(body) > self._max,
            payload_bytes=len(body),
        )
        out = OutRecord(self._topic, rejection.reason.encode(), record.model_dump_json().encode())
        task = asyncio.get_running_loop().create_task(self._send(out))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, record: OutRecord) -> None:
        assert self._publisher is not None
        try:
            await self._publisher.publish(record, self._deadline_s)
        except PublishError as exc:
            log.warning("rejected-callback record not written: %s", exc.kind)

    async def drain(self) -> None:
        """Wait for scheduled writes (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
