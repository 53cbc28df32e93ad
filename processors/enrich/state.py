"""In-memory join state: recent S3 events, and screenshots still waiting for their object.

``EventIndex``: the facts of recent ObjectCreated events by ``(bucket, key)``, bounded by a
TTL and a cap (oldest first out). An ObjectRemoved event forgets the key. It is rebuilt at
start by reading the events topic from ``now - event_ttl_s``.

``PendingSet``: screenshots that have no object facts yet, by input partition and offset and
by object location, with a due time each (when to make the next HeadObject). It also keeps,
per owned input partition, the next offset after the last one handled (``high``): with the
pending offsets that is the checkpoint that lets a restart rebuild exactly this set.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from processors.enrich.logic import ObjectEvent, newer_sequencer
from processors.runner.contract import Record
from schemas import S3ObjectFacts
from schemas.wire import WireS3Facts

__all__ = ["EventIndex", "Pending", "PendingSet"]

Location = tuple[str, str]
# size, etag, content type, last modified (UTC), version id, sequencer, monotonic time added
_Entry = tuple[int, str, str | None, datetime, str | None, str | None, float]


class EventIndex:
    """Entries are compact tuples under one ``bucket/key`` string (about a third of the
    memory of a facts model per entry); facts are rebuilt on a join."""

    def __init__(self, ttl_s: float, cap: int) -> None:
        self.ttl_s = ttl_s
        self.cap = cap
        self._facts: OrderedDict[str, _Entry] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._facts)

    def facts(self, where: Location) -> WireS3Facts | None:
        """``get``'s facts as their ``schemas.wire`` twin, for output written as bytes."""
        found = self._facts.get(f"{where[0]}/{where[1]}")
        if found is None:
            return None
        size, etag, content_type, modified, version, _, _ = found
        return WireS3Facts(
            bucket=where[0],
            key=where[1],
            size=size,
            etag=etag,
            content_type=content_type,
            last_modified=modified,  # type: ignore[arg-type]  # a datetime, as in decoded twins
            version_id=version,
            source="event",
        )

    def get(self, where: Location) -> S3ObjectFacts | None:
        found = self._facts.get(f"{where[0]}/{where[1]}")
        if found is None:
            return None
        size, etag, content_type, modified, version, _, _ = found
        return S3ObjectFacts.model_construct(
            bucket=where[0],
            key=where[1],
            size=size,
            etag=etag,
            content_type=content_type,
            last_modified=modified,
            version_id=version,
            source="event",
        )

    def add(self, where: Location, event: ObjectEvent, now: float) -> bool:
        """Remember ``event`` (an ObjectCreated of ``where``) unless a newer event of the
        same key is known; True if kept."""
        name = f"{where[0]}/{where[1]}"
        sequencer = event.sequencer
        known = self._facts.get(name)
        if known is not None and not newer_sequencer(sequencer, known[5]):
            return False
        self._facts[name] = (
            event.size,
            event.etag,
            event.content_type,
            event.last_modified,
            event.version_id,
            sequencer,
            now,
        )
        if known is not None:  # a new key is already last
            self._facts.move_to_end(name)
        while len(self._facts) > self.cap:
            self._facts.popitem(last=False)
            self.evicted += 1
        return True

    def forget(self, where: Location) -> None:
        self._facts.pop(f"{where[0]}/{where[1]}", None)

    def expire(self, now: float) -> None:
        horizon = now - self.ttl_s
        while self._facts:
            first = next(iter(self._facts.values()))
            if first[6] >= horizon:
                return
            self._facts.popitem(last=False)


@dataclass(eq=False, slots=True)
class Pending:
    """A screenshot without facts yet. ``due``: monotonic time of its next HeadObject."""

    record: Record[Any]
    project: str
    where: Location
    due: float
    deadline_missing: float  # wall clock: a 404 after this dead-letters (missing_object)
    attempts: int = 0
    transient_since: float | None = None
    in_flight: bool = False
    done: bool = False
    sequence: int = field(default=0)


class PendingSet:
    def __init__(self) -> None:
        self._by_offset: dict[int, dict[int, Pending]] = {}
        self._by_where: dict[Location, list[Pending]] = {}
        self._timers: list[tuple[float, int, Pending]] = []
        self._seq = itertools.count()
        self.high: dict[int, int] = {}

    def __len__(self) -> int:
        return sum(len(items) for items in self._by_offset.values())

    def owns(self, partition: int) -> bool:
        return partition in self._by_offset

    def own(self, partition: int, high: int) -> None:
        self._by_offset[partition] = {}
        self.high[partition] = high

    def drop(self, partition: int) -> None:
        for item in self._by_offset.pop(partition, {}).values():
            item.done = True
            self._unlink(item)
        self.high.pop(partition, None)

    def handled(self, partition: int, offset: int) -> None:
        if offset + 1 > self.high.get(partition, 0):
            self.high[partition] = offset + 1

    def add(self, item: Pending) -> bool:
        """Track ``item``; False if its offset is already pending (a redelivered batch)."""
        rec = item.record
        items = self._by_offset.setdefault(rec.partition, {})
        if rec.offset in items:
            return False
        items[rec.offset] = item
        self._by_where.setdefault(item.where, []).append(item)
        self.schedule(item, item.due)
        return True

    def schedule(self, item: Pending, due: float) -> None:
        item.due = due
        item.sequence = next(self._seq)
        heapq.heappush(self._timers, (due, item.sequence, item))

    def waiting_for(self, where: Location) -> list[Pending]:
        items = self._by_where.get(where)
        if not items:  # the common case, once per event
            return []
        return [item for item in items if not item.done]

    def due(self, now: float) -> list[Pending]:
        """Items whose timer fired (stale timers of rescheduled or resolved items skipped)."""
        out: list[Pending] = []
        while self._timers and self._timers[0][0] <= now:
            _, sequence, item = heapq.heappop(self._timers)
            if not item.done and not item.in_flight and sequence == item.sequence:
                out.append(item)
        return out

    def settle(self, item: Pending) -> None:
        """``item``'s outcome is decided (output or dead letter queued): no more work on it.
        It stays in the checkpoint until ``forget``."""
        item.done = True
        self._unlink(item)

    def forget(self, item: Pending) -> None:
        """Drop ``item`` once its output (or dead letter) was acknowledged."""
        items = self._by_offset.get(item.record.partition)
        if items is not None and items.get(item.record.offset) is item:
            del items[item.record.offset]

    def _unlink(self, item: Pending) -> None:
        waiting = self._by_where.get(item.where)
        if waiting is not None:
            waiting[:] = [other for other in waiting if other is not item]
            if not waiting:
                del self._by_where[item.where]

    def checkpoint(self, partition: int) -> tuple[int, list[int]]:
        """``(high, pending offsets below high, sorted)`` of an owned partition."""
        high = self.high.get(partition, 0)
        return high, sorted(o for o in self._by_offset.get(partition, {}) if o < high)
