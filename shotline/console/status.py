"""The pipeline status panel: ``make run``'s live table (``shotline.dev.monitor``), polled
in a thread at most every ``every_s`` and shared by every browser."""

from __future__ import annotations

import asyncio
import time

from shotline.dev.monitor import Monitor, Row
from shotline.dev.pipeline import Stage

__all__ = ["StatusPanel"]


class StatusPanel:
    def __init__(self, targets: dict[str, str], every_s: float = 2.0) -> None:
        stages = [Stage(name, (), metrics_url=url) for name, url in targets.items()]
        self._monitor = Monitor(stages) if stages else None
        self._every_s = every_s
        self._rows: list[Row] = []
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def rows(self) -> list[Row] | None:
        """The latest rows; None when no target is configured."""
        if self._monitor is None:
            return None
        async with self._lock:
            if time.monotonic() - self._at >= self._every_s:
                self._rows = await asyncio.to_thread(self._monitor.poll)
                self._at = time.monotonic()
        return self._rows
