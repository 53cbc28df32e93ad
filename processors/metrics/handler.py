"""The two billing processors, wired to the runner's contract (``tally`` lives in
``processors.metrics.tally``; both instances are created here for the registry).

``tally`` (stage 1) reads ``shotline.screenshots.v1`` (keyed by object name, so a project is
spread over every partition and instance) and publishes per-(project, second) partial counts
keyed by project to the internal ``shotline.usage.partials.v1``. ``metrics`` (stage 2) reads
the partials, so each project has exactly one owner that sums its seconds, tracks the
monthly peak and images, exports them to Prometheus and writes the project-month to the
compacted ``shotline.usage.v1`` — pinned to the partition number it read from. Both are
``exactly_once``: the runner commits their emits and input offsets in one transaction, and
``metrics`` restores its state on assignment. ``metrics`` owns the billing settings
(``MetricsSettings``: env ``SHOTLINE_METRICS_*``, TOML ``[processors.sections.metrics]``).

``metrics`` writes a partition's changed project-months together, at most every
``snapshot_interval_s``, each stamped with the partition's last applied partial offset (the
checkpoint); every partial up to the checkpoint is in the snapshots. A restore loads the
snapshots and replays the partials after the checkpoint up to the last stable offset, so the
state matches every committed partial whatever the interval, and the compacted topic gets
one record per project-month and interval instead of one per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from processors.errors import RetriableError, TopicReadError
from processors.metrics.aggregate import UsageBook
from processors.metrics.client import (
    TickSender,
    ensure_partials_topic,
    partials_topic,
    read_partials,
    read_usage,
)
from processors.metrics.exposition import UsageMetrics
from processors.metrics.logic import ScreenshotView
from processors.metrics.settings import MetricsSettings
from processors.metrics.tally import TallyProcessor
from processors.runner.base import BaseProcessor
from processors.runner.contract import Batch, Context, Emit, HandleResult
from schemas import HEADER_PROJECT, KafkaSettings, ProjectConfig, Topics
from schemas.usage import UsagePartial, UsageRecord

__all__ = ["MetricsProcessor", "ScreenshotView", "TallyProcessor"]

log = logging.getLogger("shotline.processors.metrics")


class MetricsProcessor(BaseProcessor[UsagePartial]):
    """Stage 2: one owner per project sums partials into monthly usage and the bill."""

    # The processor contract's declarations (runner.base.BaseProcessor), alike in each one.
    name = "metrics"
    input_model = UsagePartial
    exactly_once = True
    settings_model = MetricsSettings

    def __init__(self) -> None:
        self._ticker: asyncio.Task[None] | None = None
        self.ticks: TickSender | None = None

    def input_topic(self, topics: Topics) -> str:
        return partials_topic(topics)

    async def start(self, ctx: Context) -> None:
        self.settings = MetricsSettings.model_validate(dict(ctx.settings))
        self.kafka: KafkaSettings = ctx.kafka
        self.projects: dict[str, ProjectConfig] = dict(ctx.projects)
        self.book = UsageBook(self.settings.allowed_lateness_s)
        self.dirty: dict[int, set[tuple[str, str]]] = {}  # per partition: unsaved months
        self.flushed_at: dict[int, float] = {}
        self.ticked_at: dict[int, float] = {}
        self.metrics = UsageMetrics(
            ctx.registry, self.settings.prices, lambda: self.book.current(int(time.time()))
        )
        await ensure_partials_topic(ctx.kafka)
        self.ticks = TickSender(ctx.kafka)
        await self.ticks.start()
        self._ticker = asyncio.create_task(self._tick_quiet_partitions(self.ticks))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self.ticks is not None:
            await self.ticks.stop()
            self.ticks = None

    async def _tick_quiet_partitions(self, ticks: TickSender) -> None:
        """Snapshots are only written by ``handle``; a partition that went quiet with
        unsaved changes gets a tick record, so the runner calls ``handle`` once more."""
        interval = self.settings.snapshot_interval_s
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(max(0.1, interval / 2))
            now = time.monotonic()
            for partition, dirty in list(self.dirty.items()):
                last = max(self.flushed_at.get(partition, 0), self.ticked_at.get(partition, 0))
                if dirty and now - last >= interval:
                    self.ticked_at[partition] = now
                    try:
                        await ticks.send(partition)
                    except RetriableError as exc:  # the next round tries again
                        log.warning("metrics: %s", exc)

    async def on_assign(self, partitions: set[int]) -> None:
        """Restore the partitions' snapshots, then replay the partials written after them."""
        try:
            restored = await read_usage(self.kafka, sorted(partitions))
        except TopicReadError as exc:  # here the runner retries the assignment
            raise RetriableError(str(exc)) from exc
        for partition in partitions:
            mine = [rec for p, rec in restored if p == partition]
            self.book.restore(mine, partition)
            dirty = self.dirty.setdefault(partition, set())
            self.flushed_at[partition] = time.monotonic()  # restored: nothing is due yet
            after = self.book.applied.get(partition, -1)
            for offset, partial in await read_partials(self.kafka, partition, after):
                if partial.tick:
                    self.book.skip(partition, offset)
                else:
                    dirty.add((partial.project, self.book.apply(partial, partition, offset)))
        for _, rec in restored:
            self._publish(rec.project, rec.month)
        for dirty in (self.dirty[p] for p in partitions):
            for project, month in dirty:
                self._publish(project, month)

    async def on_revoke(self, partitions: set[int]) -> None:
        for partition in partitions:
            self.dirty.pop(partition, None)
            self.flushed_at.pop(partition, None)
            self.ticked_at.pop(partition, None)
        self.metrics.forget(self.book.drop(partitions))

    async def handle(self, batch: Batch[UsagePartial]) -> HandleResult:
        """Apply the batch (one partition); write its changed months when they are due."""
        if not batch:
            return HandleResult()
        partition = batch[0].partition
        dirty = self.dirty.setdefault(partition, set())
        touched = set()
        for r in batch:
            if r.value.tick:
                self.book.skip(r.partition, r.offset)
            else:
                touched.add((r.value.project, self.book.apply(r.value, r.partition, r.offset)))
        dirty |= touched
        now = datetime.now(UTC)
        for project, month in touched:
            self._publish(project, month, now)  # Prometheus follows every batch
        due = self.flushed_at.get(partition, 0.0) + self.settings.snapshot_interval_s
        if time.monotonic() < due or not dirty:
            return HandleResult()
        emits = []
        for project, month in sorted(dirty):
            record = self._publish(project, month, now)
            headers = {HEADER_PROJECT: project}
            emits.append(Emit(self.kafka.topics.usage, record.key, record, partition, headers))
        dirty.clear()
        self.flushed_at[partition] = time.monotonic()
        return HandleResult(emits=emits)

    def _publish(self, project: str, month: str, now: datetime | None = None) -> UsageRecord:
        config = self.projects.get(project)
        waived = config.waived if config is not None else False
        record = self.book.snapshot(
            project, month, self.settings.prices, waived, now or datetime.now(UTC)
        )
        self.metrics.publish(record, float(self.settings.budget_for(project)))
        return record


# The instances the runner loads by name (processors.registry).
tally = TallyProcessor()
metrics = MetricsProcessor()
