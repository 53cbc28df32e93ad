"""Pacing the calls a stage makes to a dependency: a token bucket and exponential backoff
with jitter, shared by enrich (HeadObject) and moderation (provider calls).

Both are pure: the bucket is told the time (monotonic seconds) and the backoff draws from
the random generator it is given, so tests drive them with a fake clock and a seeded
generator, and enrich's hot path reads its clock once for many buckets.
"""

from __future__ import annotations

import random
from typing import Literal

__all__ = ["Jitter", "TokenBucket", "backoff_s"]

Jitter = Literal["full", "equal"]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` stored (at least 1): over any window of T
    seconds at most ``burst + rate * T`` tokens are taken."""

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(1.0, float(burst))
        self._tokens = self.burst
        self._at = now

    def take(self, now: float, n: float = 1.0) -> float:
        """Take ``n`` tokens at ``now`` and return 0, or return how long to wait before they
        are there (nothing taken). ``n`` above ``burst`` is capped so it can ever succeed."""
        n = min(n, self.burst)
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= n:
            self._tokens -= n
            return 0.0
        return (n - self._tokens) / self.rate


def backoff_s(
    attempt: int,
    initial_s: float,
    max_s: float,
    rng: random.Random | None = None,
    jitter: Jitter = "full",
) -> float:
    """The wait before the ``attempt``-th retry (1-based): the ceiling
    ``min(max_s, initial_s * 2^(attempt-1))`` with ``full`` jitter (uniform in
    [0, ceiling]: retries of many callers spread out the most) or ``equal`` jitter (uniform
    in [ceiling/2, ceiling]: never much shorter than the exponential step). ``rng``: the
    generator to draw from (default: the ``random`` module's)."""
    ceiling = min(max_s, initial_s * (2 ** min(attempt - 1, 30)))
    draw = rng.random() if rng is not None else random.random()
    if jitter == "equal":
        return float(ceiling / 2 + draw * ceiling / 2)
    return float(draw * ceiling)
