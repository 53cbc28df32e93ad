"""Stage 2, pure: partial counts → each project's monthly usage, peak QPS and bill.

One instance owns all of a project's partials (they are keyed by project), so the sums per
second are global. Counts only grow, so the running maximum of any second's count is the
month's peak at every moment. Seconds stay open while they are within ``lateness_s`` of the
project's watermark (its highest event second); a partial for an older second still counts
its images for the month but cannot raise a closed second, so it is reported as
``late_events`` instead of QPS.

Every change is idempotent per input position: the state remembers the last offset applied
per input partition, and ``apply`` ignores a partial it has already applied (the runner may
hand a batch again after an aborted transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from processors.metrics.pricing import PriceTable, bill
from schemas.usage import UsagePartial, UsageRecord, month_of

__all__ = ["MonthState", "ProjectState", "UsageBook"]


@dataclass
class MonthState:
    images: int = 0
    incomplete: int = 0
    peak: int = 0
    peak_second: int | None = None
    duplicates: int = 0
    checksum_failures: int = 0
    late_events: int = 0
    skewed_events: int = 0


@dataclass
class ProjectState:
    watermark: int | None = None
    months: dict[str, MonthState] = field(default_factory=dict)
    seconds: dict[int, int] = field(default_factory=dict)  # open seconds only


class UsageBook:
    """All projects of the partitions this instance owns."""

    def __init__(self, lateness_s: int) -> None:
        self.lateness_s = lateness_s
        self.projects: dict[str, ProjectState] = {}
        self.applied: dict[int, int] = {}  # input partition -> last applied offset
        self.partition_of: dict[str, int] = {}

    def apply(self, partial: UsagePartial, partition: int, offset: int) -> str:
        """Fold one partial in (once per position); return the month it belongs to."""
        month = month_of(partial.second)
        self.partition_of[partial.project] = partition
        if offset <= self.applied.get(partition, -1):
            return month
        self.applied[partition] = offset
        state = self.projects.setdefault(partial.project, ProjectState())
        m = state.months.setdefault(month, MonthState())
        m.images += partial.images + partial.skewed
        m.skewed_events += partial.skewed
        m.incomplete += partial.incomplete
        m.duplicates += partial.duplicates
        m.checksum_failures += partial.checksum_failures
        if partial.images == 0:
            return month
        horizon = None if state.watermark is None else state.watermark - self.lateness_s
        if horizon is not None and partial.second < horizon:
            m.late_events += partial.images
            return month
        count = state.seconds.get(partial.second, 0) + partial.images
        state.seconds[partial.second] = count
        if count > m.peak:
            m.peak, m.peak_second = count, partial.second
        if state.watermark is None or partial.second > state.watermark:
            state.watermark = partial.second
            cutoff = partial.second - self.lateness_s
            state.seconds = {s: c for s, c in state.seconds.items() if s >= cutoff}
        return month

    def skip(self, partition: int, offset: int) -> None:
        """Mark a position applied that carries no counts (a tick)."""
        self.applied[partition] = max(self.applied.get(partition, -1), offset)

    def current_qps(self, project: str, now_s: int | None = None, stale_s: int = 60) -> int:
        """Billable screenshots in the last complete second before the watermark; 0 when
        ``now_s`` is given and the watermark is more than ``stale_s`` behind it."""
        state = self.projects.get(project)
        if state is None or state.watermark is None:
            return 0
        if now_s is not None and now_s - state.watermark > stale_s:
            return 0
        return state.seconds.get(state.watermark - 1, 0)

    def current(self, now_s: int, stale_s: int = 60) -> dict[str, int]:
        """``current_qps`` of every owned project (safe to call from a scrape thread)."""
        return {p: self.current_qps(p, now_s, stale_s) for p in list(self.projects)}

    def snapshot(
        self, project: str, month: str, prices: PriceTable, waived: bool, now: datetime
    ) -> UsageRecord:
        """The project-month as a ``shotline.usage.v1`` record, bill included."""
        state = self.projects.get(project, ProjectState())
        m = state.months.get(month, MonthState())
        cost = bill(m.images, m.peak, prices, waived)
        peak_at = None if m.peak_second is None else datetime.fromtimestamp(m.peak_second, UTC)
        open_from, open_counts = UsageRecord.pack_seconds(
            {s: c for s, c in state.seconds.items() if month_of(s) == month}
        )
        return UsageRecord(
            project=project,
            month=month,
            billable_images=m.images,
            incomplete=m.incomplete,
            peak_qps=m.peak,
            peak_second=peak_at,
            images_cost_usd=cost.images_usd,
            qps_cost_usd=cost.qps_usd,
            total_cost_usd=cost.total_usd,
            waived=waived,
            duplicates=m.duplicates,
            checksum_failures=m.checksum_failures,
            late_events=m.late_events,
            skewed_events=m.skewed_events,
            watermark=state.watermark,
            open_from=open_from,
            open_counts=open_counts,
            source_offset=self.applied.get(self.partition_of.get(project, -1), -1),
            updated_at=now,
        )

    def restore(self, records: Iterable[UsageRecord], partition: int) -> None:
        """Load the latest records of one input partition (as read from the usage topic)."""
        for r in records:
            state = self.projects.setdefault(r.project, ProjectState())
            state.months[r.month] = MonthState(
                images=r.billable_images,
                incomplete=r.incomplete,
                peak=r.peak_qps,
                peak_second=None if r.peak_second is None else int(r.peak_second.timestamp()),
                duplicates=r.duplicates,
                checksum_failures=r.checksum_failures,
                late_events=r.late_events,
                skewed_events=r.skewed_events,
            )
            state.seconds.update(r.open_seconds)
            if r.watermark is not None:
                state.watermark = max(state.watermark or r.watermark, r.watermark)
            self.partition_of[r.project] = partition
            self.applied[partition] = max(self.applied.get(partition, -1), r.source_offset)
        for state in self.projects.values():
            if state.watermark is not None:
                cutoff = state.watermark - self.lateness_s
                state.seconds = {s: c for s, c in state.seconds.items() if s >= cutoff}

    def drop(self, partitions: set[int]) -> list[str]:
        """Forget the projects of revoked partitions; return their names."""
        gone = [p for p, part in self.partition_of.items() if part in partitions]
        for project in gone:
            self.projects.pop(project, None)
            del self.partition_of[project]
        for part in partitions:
            self.applied.pop(part, None)
        return gone
