"""Stage 1, pure: screenshots → per-(project, UTC second) partial counts.

The input topic is keyed by object name, so one project's screenshots land on every partition
and in every instance. Stage 1 only counts what its batch holds; the global per-second sums
and the monthly peak are stage 2's job (``aggregate``), which sees every partial of a
project because partials are keyed by project.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.usage import UsagePartial

__all__ = ["RecentIds", "ScreenshotView", "Sighting", "partials"]


class CallbackCode(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    code: int


class ScreenshotView(BaseModel):
    """The fields billing reads from a ``shotline.screenshots.v1`` record; others ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    project: str
    request_id: str
    event_time: datetime
    checksum_status: str = "ok"
    received_at: datetime | None = None
    callback: CallbackCode


@dataclass(frozen=True, slots=True)
class Sighting:
    """What billing needs from one screenshot record, and where it was read."""

    project: str
    request_id: str
    second: int  # Unix second of the screenshot's UTC event time
    code: int
    checksum_mismatch: bool
    partition: int
    offset: int
    received_second: int | None = None  # when ingest accepted it, if known


class RecentIds:
    """A bounded memory of requestIds already counted, as a guard behind dedupe.

    ``dedupe`` is the durable, exactly-once duplicate filter; this only catches duplicates
    that leak past it (replays older than its window) while they are still among the last
    ``capacity`` ids of this instance. A record read again at the same (partition, offset),
    as when the runner retries an aborted batch, is not a duplicate.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def is_duplicate(self, request_id: str, partition: int, offset: int) -> bool:
        """Remember the id; True if it was counted before at another position."""
        position = (partition, offset)
        first = self._seen.get(request_id)
        if first is not None:
            return first != position
        self._seen[request_id] = position
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return False

    def forget_partitions(self, partitions: set[int]) -> None:
        """Drop ids read from partitions this instance no longer owns."""
        for rid in [rid for rid, (p, _) in self._seen.items() if p in partitions]:
            del self._seen[rid]


def partials(
    sightings: Iterable[Sighting], recent: RecentIds, max_future_s: int | None = None
) -> list[UsagePartial]:
    """Sum a batch per (project, second); one partial per pair, in first-seen order.

    Only code 200 screenshots are billable images and count towards QPS; other codes are
    reported as ``incomplete``. A duplicate is counted as such and nowhere else. A billable
    screenshot dated more than ``max_future_s`` after ingest received it (a sender clock
    running ahead) is ``skewed``: billed, but kept out of QPS, so it cannot push the
    project's watermark ahead and make every later screenshot look late.
    """
    sums: dict[tuple[str, int], list[int]] = {}
    for s in sightings:
        # images, incomplete, duplicates, checksum_failures, skewed
        row = sums.setdefault((s.project, s.second), [0, 0, 0, 0, 0])
        if recent.is_duplicate(s.request_id, s.partition, s.offset):
            row[2] += 1
            continue
        if s.code != 200:
            row[1] += 1
        elif (
            max_future_s is not None
            and s.received_second is not None
            and s.second > s.received_second + max_future_s
        ):
            row[4] += 1
        else:
            row[0] += 1
        if s.checksum_mismatch:
            row[3] += 1
    return [
        UsagePartial(
            project=project,
            second=second,
            images=row[0],
            incomplete=row[1],
            duplicates=row[2],
            checksum_failures=row[3],
            skewed=row[4],
        )
        for (project, second), row in sums.items()
    ]
