"""``tally`` (stage 1 of billing): count screenshots per (project, UTC second) of a batch.

It reads ``shotline.screenshots.v1`` (keyed by object name, so a project is spread over every
partition and instance) and publishes partial counts keyed by project to the internal
``shotline.usage.partials.v1``. The runner commits those emits with the input offsets in one
transaction, so ``handle`` may run again over records whose transaction aborted; the
``shotline_tally_screenshots_total`` counter therefore counts a batch only in the runner's
``after_commit`` hook (``CommitHook``): ``handle`` stages its counts (``StagedCounts``),
``after_commit`` adds them when the batch committed and drops them when it did not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from processors.metrics.client import ensure_partials_topic, partials_topic
from processors.metrics.exposition import StageOneMetrics
from processors.metrics.logic import RecentIds, ScreenshotView, Sighting, partials
from processors.metrics.settings import TallySettings
from processors.metrics.staged import Counts, StagedCounts
from processors.runner.base import BaseProcessor
from processors.runner.codec import RawRecord
from processors.runner.contract import Batch, Context, Emit, HandleResult
from schemas import HEADER_PROJECT, Topics

__all__ = ["TallyProcessor"]


class TallyProcessor(BaseProcessor[ScreenshotView]):
    """Stage 1: count screenshots per (project, UTC second) of each batch."""

    # The processor contract's declarations (runner.base.BaseProcessor), alike in each one.
    name = "tally"
    input_model = ScreenshotView
    exactly_once = True
    settings_model = TallySettings

    def __init__(self) -> None:
        self.staged = StagedCounts()

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None:
        self.settings = TallySettings.model_validate(dict(ctx.settings))
        self.recent = RecentIds(self.settings.recent_ids)
        self.metrics = StageOneMetrics(ctx.registry)
        self.output = partials_topic(ctx.topics)
        await ensure_partials_topic(ctx.kafka)

    async def stop(self) -> None:
        # Whatever is still staged never committed: its next owner handles and counts it.
        self.staged.discard(self.staged.partitions())

    async def on_revoke(self, partitions: set[int]) -> None:
        self.recent.forget_partitions(partitions)
        # A committed batch was already counted in ``after_commit``; what is still staged
        # never committed and is the next owner's to handle and count.
        self.staged.discard(partitions)

    async def handle(self, batch: Batch[ScreenshotView]) -> HandleResult:
        """Emit the batch's partials; stage its counts for ``after_commit``."""
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

    def after_commit(self, partition: int, raws: Sequence[RawRecord], committed: bool) -> None:
        """Count the staged batches of a committed partition batch; drop an aborted one's."""
        if not raws:
            self.staged.discard({partition})
            return
        settled = self.staged.settle(partition, raws[0].offset, raws[-1].offset, committed)
        for (project, item), n in settled.items():
            self.metrics.count(project, item, n)


def _second(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() // 1)
