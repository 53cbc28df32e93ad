"""``tally`` (stage 1 of billing): count screenshots per (project, UTC second) of a batch.

It reads ``shotline.screenshots.v1`` (keyed by requestId, so a project is spread over every
partition and instance) and publishes partial counts keyed by project to the internal
``shotline.usage.partials.v1``. The runner commits those emits with the input offsets in one
transaction, so ``handle`` may run again over records whose transaction aborted; the
``shotline_tally_screenshots_total`` counter therefore counts a batch only once the consumer
group's committed offset has passed it (``StagedCounts``), polled every
``COMMIT_POLL_S`` and once more when partitions are revoked or the processor stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import UTC, datetime

from processors.metrics.client import CommitReader, ensure_partials_topic, partials_topic
from processors.metrics.exposition import StageOneMetrics
from processors.metrics.logic import RecentIds, ScreenshotView, Sighting, partials
from processors.metrics.settings import TallySettings
from processors.metrics.staged import Counts, StagedCounts
from processors.runner.contract import Batch, Context, Emit, HandleResult
from processors.runner.errors import RetriableError
from schemas import HEADER_PROJECT, Topics

__all__ = ["COMMIT_POLL_S", "TallyProcessor"]

log = logging.getLogger("shotline.processors.metrics")

COMMIT_POLL_S = 1.0  # how stale the counter may be behind the committed offsets


class TallyProcessor:
    """Stage 1: count screenshots per (project, UTC second) of each batch."""

    name = "tally"
    input_model = ScreenshotView
    exactly_once = True

    def __init__(self) -> None:
        self.staged = StagedCounts()
        self.commits: CommitReader | None = None
        self._poller: asyncio.Task[None] | None = None

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None:
        self.settings = TallySettings.model_validate(dict(ctx.settings))
        self.recent = RecentIds(self.settings.recent_ids)
        self.metrics = StageOneMetrics(ctx.registry)
        self.output = partials_topic(ctx.topics)
        await ensure_partials_topic(ctx.kafka)
        self.commits = CommitReader(
            ctx.kafka, ctx.group_id(self.name), self.input_topic(ctx.topics)
        )
        await self.commits.start()
        self._poller = asyncio.create_task(self._poll_commits())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self.commits is not None:
            await self._release(self.staged.partitions())
            self.staged.discard(self.staged.partitions())
            await self.commits.stop()
            self.commits = None

    async def on_assign(self, partitions: set[int]) -> None:
        return None

    async def on_revoke(self, partitions: set[int]) -> None:
        self.recent.forget_partitions(partitions)
        # What was committed counts; the rest is the next owner's to handle and count.
        await self._release(partitions & self.staged.partitions())
        self.staged.discard(partitions)

    async def handle(self, batch: Batch[ScreenshotView]) -> HandleResult:
        """Emit the batch's partials; stage its counts until the runner commits it."""
        if not batch:
            return HandleResult()
        sightings = [
            Sighting(
                project=r.value.project,
                request_id=r.value.request_id,
                second=int(r.value.event_time.astimezone(UTC).timestamp() // 1),
                code=r.value.callback.code,
                checksum_mismatch=r.value.checksum_status == "mismatch",
                partition=r.partition,
                offset=r.offset,
                received_second=_second(r.value.received_at),
            )
            for r in batch
        ]
        out = partials(sightings, self.recent, self.settings.max_future_s)
        counts: Counts = Counter()
        for p in out:
            counts[(p.project, "billable")] += p.images
            counts[(p.project, "incomplete")] += p.incomplete
            counts[(p.project, "duplicate")] += p.duplicates
            counts[(p.project, "checksum_failure")] += p.checksum_failures
            counts[(p.project, "skewed")] += p.skewed
        self.staged.stage(batch[0].partition, batch[0].offset, batch[-1].offset, counts)
        return HandleResult(
            emits=[
                Emit(self.output, p.project, p, headers={HEADER_PROJECT: p.project}) for p in out
            ]
        )

    async def _release(self, partitions: set[int]) -> None:
        """Count the staged batches of ``partitions`` that the group has committed."""
        if self.commits is None or not partitions:
            return
        try:
            committed = await self.commits.committed(partitions)
        except RetriableError as exc:  # the counter lags; the next poll tries again
            log.warning("tally: %s", exc)
            return
        for (project, item), n in self.staged.release(committed).items():
            self.metrics.count(project, item, n)

    async def _poll_commits(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_POLL_S)
            await self._release(self.staged.partitions())


def _second(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() // 1)
