"""The review queue in memory: flagged verdicts joined with their screenshots' facts, and
the decisions taken on them.

Fed by ``feed`` (the three topics, from ``window_h`` ago and then live) and by the
console's own decisions, which it applies at once and reads back from the topic, like
every other console's. ``version`` grows with each change and ``changed`` wakes whoever
waits for one (the Server-Sent Events of every open browser).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas import EnrichedScreenshot
from schemas.decision import ReviewDecision
from schemas.moderation import ModerationVerdict, Verdict

__all__ = ["FLAGGED", "Facts", "Filters", "Item", "ReviewQueue"]

FLAGGED = frozenset({Verdict.REVIEW, Verdict.BLOCK})


@dataclass(frozen=True)
class Facts:
    """What a thumbnail and its caption need, from ``shotline.screenshots.enriched.v1``."""

    channel: str
    user: str
    taken_at: datetime
    bucket: str | None
    key: str | None

    @classmethod
    def of(cls, shot: EnrichedScreenshot) -> Facts:
        s3 = shot.s3
        return cls(
            channel=shot.callback.channelName,
            user=shot.callback.userId,
            taken_at=shot.event_time,
            bucket=s3.bucket if s3 else None,
            key=s3.key if s3 else None,
        )


@dataclass(frozen=True)
class Item:
    request_id: str
    project: str
    verdict: ModerationVerdict
    at: datetime  # when the verdict was published
    facts: Facts | None


@dataclass(frozen=True)
class Filters:
    project: str = ""
    channel: str = ""
    verdict: str = ""
    hours: float | None = None


@dataclass
class ReviewQueue:
    window: timedelta
    index_max: int = 200_000
    version: int = 0
    _verdicts: dict[str, list[tuple[datetime, ModerationVerdict]]] = field(default_factory=dict)
    _decisions: dict[str, list[ReviewDecision]] = field(default_factory=dict)
    _facts: OrderedDict[str, Facts] = field(default_factory=OrderedDict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    # -- fed by the topics and by decisions --------------------------------------------
    def add_verdict(self, verdict: ModerationVerdict, at: datetime) -> None:
        rid = verdict.request_id
        if verdict.verdict not in FLAGGED and rid not in self._verdicts:
            return  # only flagged screenshots are kept (with any later verdict of theirs)
        seen = self._verdicts.setdefault(rid, [])
        if any(v == verdict for _, v in seen):
            return  # the same verdict again (moderate is at-least-once)
        seen.append((at, verdict))
        self._bump()

    def add_facts(self, shot: EnrichedScreenshot) -> None:
        self._facts[shot.request_id] = Facts.of(shot)
        self._facts.move_to_end(shot.request_id)
        while len(self._facts) > self.index_max:
            self._facts.popitem(last=False)
        if shot.request_id in self._verdicts:
            self._bump()

    def add_decision(self, decision: ReviewDecision) -> None:
        seen = self._decisions.setdefault(decision.request_id, [])
        if decision in seen:
            return  # our own decision, read back from the topic
        seen.append(decision)
        self._bump()

    def prune(self, now: datetime | None = None) -> None:
        """Forget screenshots whose last verdict left the window."""
        cutoff = (now or datetime.now(UTC)) - self.window
        old = [rid for rid, seen in self._verdicts.items() if seen[-1][0] < cutoff]
        for rid in old:
            del self._verdicts[rid]
            self._decisions.pop(rid, None)
        # decisions read from the compacted topic whose screenshot is not in the window
        stale = [
            rid
            for rid, seen in self._decisions.items()
            if rid not in self._verdicts and max(d.decided_at for d in seen) < cutoff
        ]
        for rid in stale:
            del self._decisions[rid]
        if old:
            self._bump()

    # -- read by the pages ---------------------------------------------------------------
    def __len__(self) -> int:
        """Flagged screenshots held, decided or not."""
        return len(self._verdicts)

    def item(self, rid: str) -> Item | None:
        """The screenshot's latest verdict with its facts, decided or not."""
        seen = self._verdicts.get(rid)
        if not seen:
            return None
        at, verdict = seen[-1]
        return Item(rid, verdict.project, verdict, at, self._facts.get(rid))

    def decided(self, rid: str) -> ReviewDecision | None:
        decisions = self._decisions.get(rid)
        return max(decisions, key=lambda d: d.decided_at) if decisions else None

    def pending(
        self, projects: frozenset[str], filters: Filters, limit: int = 200
    ) -> tuple[list[Item], int]:
        """Undecided flagged screenshots of ``projects`` matching ``filters``, newest first
        (at most ``limit``), and how many matched in all."""
        now = datetime.now(UTC)
        hours = self.window if filters.hours is None else timedelta(hours=filters.hours)
        cutoff = now - min(hours, self.window)
        items = []
        for rid in self._verdicts:
            item = self.item(rid)
            if item is None or item.project not in projects or rid in self._decisions:
                continue
            if item.verdict.verdict not in FLAGGED or item.at < cutoff:
                continue
            if filters.project and item.project != filters.project:
                continue
            if filters.verdict and item.verdict.verdict.value != filters.verdict:
                continue
            if filters.channel and (item.facts is None or filters.channel != item.facts.channel):
                continue
            items.append(item)
        items.sort(key=lambda i: i.at, reverse=True)
        return items[:limit], len(items)

    def history(
        self, rid: str
    ) -> tuple[list[tuple[datetime, ModerationVerdict]], list[ReviewDecision]]:
        decisions = sorted(self._decisions.get(rid, []), key=lambda d: d.decided_at)
        return list(self._verdicts.get(rid, [])), decisions

    # -- change notification -------------------------------------------------------------
    def _bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, since: int, timeout_s: float) -> int:
        """The version once it differs from ``since``, or after ``timeout_s``."""
        if self.version != since:
            return self.version
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
        return self.version
