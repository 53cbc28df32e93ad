"""Pacing: release events at a steady rate without a timer per event.

Events are due at ``start + n / rate``. A caller that falls behind (a slow receiver holds
every concurrency slot) catches up in a burst, but never by more than ``max_burst_s`` of
events: past that the schedule restarts from now, as a real sender's clock would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Pacer"]


class Pacer:
    def __init__(
        self,
        rate: float,
        max_burst_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.max_burst_s = max_burst_s
        self.clock = clock
        self.start = clock()
        self.issued = 0

    def delay(self) -> float:
        """Claim the next event; return how long to wait until it is due (0 if due)."""
        now = self.clock()
        due = self.start + self.issued / self.rate
        if now - due > self.max_burst_s:
            self.start, self.issued = now, 0
            due = now
        self.issued += 1
        return max(0.0, due - now)

    async def wait(self) -> None:
        delay = self.delay()
        if delay > 0:
            await asyncio.sleep(delay)
