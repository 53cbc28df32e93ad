"""Pure decisions of the moderation stage: sampling, the per-channel interval, thresholds
and combining verdicts. No I/O, no clocks: event times come from the records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from schemas.moderation import ModerationLabel, Verdict

__all__ = ["ChannelGate", "sampled", "verdict_for", "worst"]


def sampled(request_id: str, fraction: float) -> bool:
    """Whether ``request_id`` is in the sample: the same answer on every replica and every
    redelivery (a hash of the id, not a random draw)."""
    if fraction >= 1.0:
        return True
    if fraction <= 0.0:
        return False
    digest = hashlib.blake2b(request_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def verdict_for(labels: Iterable[ModerationLabel], review_at: float, block_at: float) -> Verdict:
    """``block`` when the highest score reaches ``block_at``, ``review`` at ``review_at``."""
    top = max((label.score for label in labels), default=0.0)
    if top >= block_at:
        return Verdict.BLOCK
    if top >= review_at:
        return Verdict.REVIEW
    return Verdict.PASS


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: v.severity, default=Verdict.SKIPPED)


class ChannelGate:
    """At most one screenshot per (project, channel) per interval, on event time.

    In memory, per instance: after a restart or rebalance a channel may get one extra
    screenshot moderated, never one fewer. Entries older than their interval are pruned so
    memory follows the number of active channels."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}
        self._checks = 0

    def admit(self, project: str, channel: str, at_ms: int, interval_s: float) -> bool:
        if interval_s <= 0:
            return True
        interval_ms = int(interval_s * 1000)
        key = (project, channel)
        last = self._last.get(key)
        if last is not None and abs(at_ms - last) < interval_ms:
            return False
        self._last[key] = max(at_ms, last or at_ms)
        self._checks += 1
        if self._checks % 10_000 == 0:
            self._prune(at_ms - 3_600_000)
        return True

    def _prune(self, before_ms: int) -> None:
        self._last = {k: v for k, v in self._last.items() if v >= before_ms}

    def clear(self) -> None:
        self._last.clear()
