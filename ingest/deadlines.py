"""Cheap per-request deadlines: one sweeper timer for all in-flight publishes.

``asyncio.timeout`` arms a heap timer per call; at 10k publishes a second that is a measurable
share of the request's CPU. Publishes on the HTTP path all use the same deadline, so they
expire in the order they started: a FIFO checked every ``resolution_s`` is enough. A task
that overruns is cancelled; ``expired`` tells the caller it was the deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

__all__ = ["Deadlines"]


class _Entry:
    __slots__ = ("expired", "expiry", "finished", "task")

    def __init__(self, expiry: float, task: asyncio.Task[object]) -> None:
        self.expiry = expiry
        self.task = task
        self.finished = False
        self.expired = False


class Deadlines:
    """Deadlines for tasks, checked every ``resolution_s``::

        entry = deadlines.start(seconds)
        try:
            ...  # awaits
        except asyncio.CancelledError:
            if deadlines.expired(entry):
                ...  # the deadline passed: the task is no longer being cancelled
            raise
        finally:
            entry.finished = True

    Not a wrapping coroutine on purpose: each extra coroutine layer costs on the hot path.
    """

    def __init__(self, resolution_s: float = 0.05) -> None:
        self._resolution_s = resolution_s
        self._queue: deque[_Entry] = deque()
        self._armed = False

    def start(self, seconds: float) -> _Entry:
        """Start the deadline of the current task."""
        task = asyncio.current_task()
        assert task is not None
        entry = _Entry(time.monotonic() + seconds, task)
        self._queue.append(entry)
        if not self._armed:
            self._armed = True
            asyncio.get_running_loop().call_later(self._resolution_s, self._sweep)
        return entry

    @staticmethod
    def expired(entry: _Entry) -> bool:
        """True if this entry's deadline caused the cancellation (which is then undone)."""
        if entry.expired:
            entry.task.uncancel()
            return True
        return False

    def _sweep(self) -> None:
        now = time.monotonic()
        queue = self._queue
        while queue and (queue[0].finished or queue[0].expiry <= now):
            entry = queue.popleft()
            if not entry.finished:
                entry.expired = True
                entry.task.cancel()
        if queue:
            asyncio.get_running_loop().call_later(self._resolution_s, self._sweep)
        else:
            self._armed = False
