"""A provider's quota primitives: Retry-After gate and circuit breaker (its token bucket is
``processors.pacing.TokenBucket``, shared with enrich).

All of them read one monotonic clock (``time.monotonic`` unless a test passes its own) and
are used from one event loop, so they need no locks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

__all__ = ["Breaker", "BreakerState", "Gate"]

Clock = Callable[[], float]


class Gate:
    """Closed until a provider's ``Retry-After`` has passed, for every call of it."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def close_for(self, seconds: float) -> None:
        self._until = max(self._until, self._clock() + seconds)

    def wait_s(self) -> float:
        return max(0.0, self._until - self._clock())


class BreakerState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class Breaker:
    """Opens after ``failures`` consecutive failed calls and stays open ``open_s``; then
    one trial call at a time is let through (half-open) until one succeeds (closed) or
    fails (open again)."""

    def __init__(self, failures: int, open_s: float, clock: Clock = time.monotonic) -> None:
        self.failures = failures
        self.open_s = open_s
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.open_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def admit(self) -> float:
        """0 when a call may go now, else the seconds until the breaker lets one through."""
        state = self.state
        if state is BreakerState.CLOSED:
            return 0.0
        if state is BreakerState.OPEN:
            assert self._opened_at is not None
            return self._opened_at + self.open_s - self._clock()
        if self._trial:  # a trial call is out: the others wait for its outcome
            return min(1.0, self.open_s)
        self._trial = True
        return 0.0

    def success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._trial = False

    def abandon(self) -> None:
        """A call ended without telling whether the provider works (cancelled)."""
        self._trial = False

    def failure(self) -> None:
        self._consecutive += 1
        if self._opened_at is not None or self._consecutive >= self.failures:
            self._opened_at = self._clock()
        self._trial = False
