"""Making an accepted callback durable: Kafka's ack within the deadline, else the spool.

Once a publish fails the delivery turns *degraded*: later records go straight to the spool
(no request waits out another deadline while Kafka is down) until the drainer has emptied
the spool with a working producer.
"""

from __future__ import annotations

import logging
import time

from ingest.errors import PublishError
from ingest.metrics import IngestMetrics
from ingest.publisher import Publisher
from ingest.records import OutRecord
from ingest.spool import Spool

__all__ = ["Delivery"]

log = logging.getLogger("shotline.ingest.delivery")


class Delivery:
    """``deliver`` returns ``"kafka"`` or ``"spool"``; it raises ``SpoolFullError`` (503) or
    ``IngestError`` (spool unusable) when the record could not be made durable at all."""

    def __init__(
        self, publisher: Publisher, spool: Spool, metrics: IngestMetrics, deadline_s: float
    ) -> None:
        self.publisher = publisher
        self.spool = spool
        self._metrics = metrics
        self._deadline_s = deadline_s
        self._acked = metrics.publish_latency.labels(outcome="acked")
        self._spooled = metrics.publish_latency.labels(outcome="spooled")
        self._via_kafka = metrics.accepted.labels(via="kafka")
        self._via_spool = metrics.accepted.labels(via="spool")
        self.degraded = False

    async def deliver(self, record: OutRecord) -> str:
        start = time.perf_counter()
        if not self.degraded:
            try:
                await self.publisher.publish(record, self._deadline_s)
            except PublishError as exc:
                self.set_degraded(True, exc.kind)
            else:
                self._acked.observe(time.perf_counter() - start)
                self._via_kafka.inc()
                return "kafka"
        await self.spool.put(record)
        self._spooled.observe(time.perf_counter() - start)
        self._via_spool.inc()
        return "spool"

    def set_degraded(self, degraded: bool, why: str = "") -> None:
        if degraded != self.degraded:
            if degraded:
                log.warning("Kafka did not ack (%s): accepting into the spool", why)
            else:
                log.warning("spool drained and Kafka acks again: publishing directly")
        self.degraded = degraded
