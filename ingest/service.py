"""Wiring of one ingest process: publisher, spool slot, delivery, drainer, rejection sink.

``start`` never fails because Kafka is down (the spool takes over); it fails only if no spool
can be opened, since then nothing could be accepted safely.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ingest.callbacks import CallbackVerifier
from ingest.delivery import Delivery
from ingest.drainer import Drainer
from ingest.metrics import IngestMetrics
from ingest.orphans import OrphanDrainer
from ingest.publisher import Publisher
from ingest.rejections import RejectionSink
from ingest.security import IpAllowlist
from ingest.settings import IngestSettings
from ingest.slots import SpoolSlot, claim_slot
from ingest.spool import Spool
from schemas import ProjectConfig, Topics

__all__ = ["IngestService", "Project"]

log = logging.getLogger("shotline.ingest")


class Project:
    """A configured project as the HTTP layer needs it."""

    __slots__ = ("allowlist", "key", "verifier")

    def __init__(self, key: str, verifier: CallbackVerifier, allowlist: IpAllowlist) -> None:
        self.key = key
        self.verifier = verifier
        self.allowlist = allowlist


class IngestService:
    def __init__(
        self,
        settings: IngestSettings,
        projects: Mapping[str, ProjectConfig],
        topics: Topics,
        publisher: Publisher,
        metrics: IngestMetrics,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self.settings = settings
        self.metrics = metrics
        self.publisher = publisher
        self.projects = {
            key: Project(
                key,
                CallbackVerifier(key, cfg, topics.callbacks, settings.freshness_window_s),
                IpAllowlist(cfg.allowed_ips),
            )
            for key, cfg in projects.items()
        }
        self.rejections = RejectionSink(
            metrics,
            publisher if settings.publish_rejected else None,
            topics.rejected,
            settings.rejected_payload_max_bytes,
            settings.publish_deadline_s,
        )
        self.slot: SpoolSlot | None = None
        self.spool: Spool | None = None
        self.delivery: Delivery | None = None
        self.drainer: Drainer | None = None
        self.orphans = OrphanDrainer(settings, publisher)

    async def start(self) -> None:
        s = self.settings
        self.slot = claim_slot(s.spool_dir)
        spool = Spool(
            self.slot.path,
            self.metrics,
            max_bytes=s.spool_max_bytes,
            commit_max_records=s.spool_commit_max_records,
        )
        spool.open()
        self.spool = spool
        await self.publisher.start()
        self.delivery = Delivery(self.publisher, spool, self.metrics, s.publish_deadline_s)
        if spool.depth:
            log.warning("spool %s holds %d records from an earlier run", spool.path, spool.depth)
            self.delivery.set_degraded(True, "records left in the spool")
        self.drainer = Drainer(
            self.delivery,
            self.metrics,
            batch=s.drain_batch,
            interval_s=s.drain_interval_s,
            deadline_s=s.publish_deadline_s,
            stuck_after_s=s.producer_stuck_after_s,
            quarantine_after=s.quarantine_after_attempts,
        )
        self.drainer.start()
        self.orphans.start(self.slot.index)
        log.info("ingest ready: spool %s, %d projects", spool.path, len(self.projects))

    async def stop(self) -> None:
        """After in-flight requests finished: stop draining, flush, close the spool cleanly."""
        await self.orphans.stop()
        if self.drainer is not None:
            await self.drainer.stop()
        await self.rejections.drain()
        await self.publisher.stop(self.settings.shutdown_timeout_s)
        if self.spool is not None:
            await self.spool.close()
            self.spool = None
        if self.slot is not None:
            self.slot.release()
            self.slot = None

    @property
    def ready(self) -> bool:
        """Kafka reachable, or the spool can still take records."""
        spool_ok = self.spool is not None and self.spool.writable
        return self.delivery is not None and (
            (self.publisher.connected and not self.delivery.degraded) or spool_ok
        )
