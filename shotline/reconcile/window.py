"""What a reconcile run covers: its time range, the day folders to list, and which listed
objects are candidates. Pure: the clock is passed in.

Agora writes ``<object_prefix>/<yyyymmdd>/<file>`` with the date of the screenshot's UTC
time, so a range lists one folder per UTC day it touches (a range across midnight lists
both). An object is a candidate when its name parses as an Agora screenshot, its time (from
the name) is in ``[since, until)``, and it is older than the grace period by its
LastModified, so callbacks still in flight are not second-guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from schemas import ObjectNameError
from schemas.objectname import object_name_fields
from shotline.errors import TimeSyntaxError

__all__ = ["Skip", "TimeRange", "classify", "day_prefixes", "parse_time"]

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(text: str, now: datetime) -> datetime:
    """An aware UTC datetime from ISO 8601 (naive means UTC; ``Z`` accepted), ``now``, or
    a relative ``-<n><unit>`` (units s, m, h, d, w) before ``now``."""
    value = text.strip()
    if value == "now":
        return now
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(seconds=float(amount) * _UNIT_S[unit])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimeSyntaxError(
            f"{text!r} is neither ISO 8601 (2026-12-01T06:00:00Z) nor relative (-2h, -30m, -1d)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TimeRange:
    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise TimeSyntaxError(f"--until {self.until:%FT%TZ} is not after --since")

    def days(self) -> Iterator[str]:
        """Each UTC day the range touches, as ``yyyymmdd``."""
        day = self.since.date()
        last = (self.until - timedelta(microseconds=1)).date()
        while day <= last:
            yield day.strftime("%Y%m%d")
            day += timedelta(days=1)

    def __contains__(self, when: datetime) -> bool:
        return self.since <= when < self.until


def day_prefixes(object_prefix: str, window: TimeRange) -> list[str]:
    """The listing prefixes: ``<object_prefix>/<yyyymmdd>/`` (no leading ``/`` when the
    project has no prefix)."""
    head = f"{object_prefix.strip('/')}/" if object_prefix.strip("/") else ""
    return [f"{head}{day}/" for day in window.days()]


class Skip(StrEnum):
    """Why a listed object is not a candidate (the ``reason`` label of the skipped metric)."""

    NOT_AGORA = "not_agora"  # the name does not parse as an Agora screenshot
    OUT_OF_RANGE = "out_of_range"  # the name's time is outside [since, until)
    TOO_RECENT = "too_recent"  # modified within the grace period: its callback may be coming


def classify(
    key: str, last_modified: datetime, window: TimeRange, settled: datetime
) -> Skip | None:
    """None for a candidate, else why ``key`` is skipped. ``settled``: now minus grace."""
    try:
        utc: datetime = object_name_fields(key)["utc"]
    except ObjectNameError:
        return Skip.NOT_AGORA
    if utc not in window:
        return Skip.OUT_OF_RANGE
    if last_modified > settled:
        return Skip.TOO_RECENT
    return None
