"""Records of the billing pipeline.

``UsagePartial`` is internal: the ``tally`` processor (stage 1, input partitioned by
requestId) counts its screenshots per (project, UTC second) and publishes the partial counts
keyed by project to ``shotline.usage.partials.v1``. ``UsageRecord`` is the state of one
project-month that the ``metrics`` processor (stage 2, partitioned by project) writes to the
compacted ``shotline.usage.v1`` keyed ``<project>|<YYYY-MM>``; it holds every field needed
to resume counting after a restart without loss (the open seconds and the watermark) and
the bill estimate in USD.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MONTH_PATTERN", "UsagePartial", "UsageRecord", "month_of", "usage_key"]

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
Count = Annotated[int, Field(ge=0)]


def month_of(epoch_second: int) -> str:
    """The UTC calendar month ``YYYY-MM`` of a Unix second."""
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m")


def usage_key(project: str, month: str) -> str:
    """The compaction key of a project-month in ``shotline.usage.v1``."""
    return f"{project}|{month}"


class UsagePartial(BaseModel):
    """Counts of one project's screenshots in one UTC second, from one stage-1 batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    project: str
    second: int = Field(description="Unix second (UTC) of the screenshots' event time.")
    images: Count = Field(default=0, description="Screenshots with code 200 (billable).")
    skewed: Count = Field(
        default=0,
        description="Billable screenshots whose time is ahead of their receipt by more than "
        "the tolerance: billed in their month, kept out of QPS and the watermark.",
    )
    incomplete: Count = Field(default=0, description="Screenshots with another code.")
    duplicates: Count = Field(default=0, description="requestIds seen again (dedupe leaks).")
    checksum_failures: Count = Field(default=0, description="checksum_status == mismatch.")
    tick: bool = Field(
        default=False,
        description="Carries no counts: the metrics processor sends one to a quiet partition "
        "so that its pending snapshot is written in a transaction.",
    )


class UsageRecord(BaseModel):
    """One project-month: usage, the bill estimate, and the state needed to resume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    project: str
    month: Annotated[str, Field(pattern=MONTH_PATTERN)]
    billable_images: Count = 0
    incomplete: Count = 0
    peak_qps: Count = 0
    peak_second: datetime | None = Field(
        default=None, description="UTC second in which the month's peak QPS happened."
    )
    images_cost_usd: Decimal = Decimal("0.00")
    qps_cost_usd: Decimal = Decimal("0.00")
    total_cost_usd: Decimal = Decimal("0.00")
    waived: bool = False
    duplicates: Count = 0
    checksum_failures: Count = 0
    late_events: Count = Field(
        default=0,
        description="Billable screenshots later than the allowed lateness: counted as "
        "images but not in any second's QPS.",
    )
    skewed_events: Count = Field(
        default=0,
        description="Billable screenshots dated ahead of their receipt (sender clock "
        "skew): counted as images but not in any second's QPS.",
    )
    watermark: int | None = Field(
        default=None, description="Highest event second seen for the project (Unix s)."
    )
    open_from: int | None = Field(
        default=None, description="First second (Unix s) of ``open_counts``."
    )
    open_counts: list[int] = Field(
        default_factory=list,
        description="Counts of the consecutive seconds from ``open_from`` that are still "
        "within the allowed lateness (a compact form: about 4 bytes per second).",
    )
    source_offset: int = Field(
        default=-1, description="Last input offset applied from the partials partition."
    )
    updated_at: datetime

    @property
    def key(self) -> str:
        return usage_key(self.project, self.month)

    @property
    def open_seconds(self) -> dict[int, int]:
        """The open seconds with a count, as ``{unix_second: count}``."""
        if self.open_from is None:
            return {}
        return {self.open_from + i: c for i, c in enumerate(self.open_counts) if c}

    @staticmethod
    def pack_seconds(seconds: dict[int, int]) -> tuple[int | None, list[int]]:
        """``(open_from, open_counts)`` of a ``{unix_second: count}`` map."""
        if not seconds:
            return None, []
        first, last = min(seconds), max(seconds)
        return first, [seconds.get(s, 0) for s in range(first, last + 1)]
