"""The simulator's run loop: pace screenshots, upload each, then notify Agora-style.

Per screenshot, as Agora does: the JPEG goes to the bucket first (in a thread pool: boto3
blocks), and only a successful upload is followed by the callback. Injected faults change
that on purpose (see ``Kind``). A duplicate storm re-delivers an acknowledged callback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from shotline.errors import UploadError
from shotline.simulate.delivery import Courier, Delivery
from shotline.simulate.jpeg import jpeg_bytes
from shotline.simulate.plan import Kind, Planner, Screenshot
from shotline.simulate.rate import Pacer
from shotline.simulate.settings import SimulateSettings
from shotline.simulate.stats import Stats
from shotline.simulate.upload import ObjectStore

__all__ = ["Simulator"]


def _now() -> datetime:
    return datetime.now(UTC)


class Simulator:
    """One run. ``store`` is None when uploads are off (pure ingest load)."""

    def __init__(
        self,
        settings: SimulateSettings,
        courier: Courier,
        store: ObjectStore | None,
        clock: Callable[[], datetime] = _now,
        keep_ids: bool = True,
    ) -> None:
        self.settings = settings
        self.courier = courier
        self.store = store if settings.upload else None
        self.clock = clock
        self.planner = Planner(settings)
        self.stats = Stats(keep_ids=keep_ids)
        self.executor = ThreadPoolExecutor(settings.upload_threads, "shotline-upload")

    async def run(self, stop: asyncio.Event | None = None) -> Stats:
        """Send until ``count``, ``duration_s`` or ``stop``; wait for in-flight work."""
        loop = asyncio.get_running_loop()
        if self.store is not None:
            await loop.run_in_executor(self.executor, self.store.ensure_bucket)
        stop = stop or asyncio.Event()
        settings = self.settings
        pacer = Pacer(settings.screenshots_per_s)
        slots = asyncio.Semaphore(settings.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        deadline = None if settings.duration_s is None else loop.time() + settings.duration_s
        self.stats.started = time.monotonic()  # pacing starts now, not at construction
        try:
            while not stop.is_set():
                if settings.count is not None and self.stats.planned >= settings.count:
                    break
                if deadline is not None and loop.time() >= deadline:
                    break
                await pacer.wait()
                await slots.acquire()
                shot = self.planner.next(self.clock())
                self.stats.planned += 1
                task = asyncio.create_task(self._one(shot))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: slots.release())
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            self.executor.shutdown(wait=False, cancel_futures=True)
        return self.stats

    async def _one(self, shot: Screenshot) -> None:
        stats = self.stats
        if shot.uploads and self.store is not None:
            loop = asyncio.get_running_loop()
            image = jpeg_bytes(shot.request_id)
            try:
                await loop.run_in_executor(self.executor, self.store.put, shot.object_name, image)
            except UploadError:
                stats.upload_failed += 1
                return  # Agora notifies only after a successful upload
            stats.uploaded += 1
        if shot.kind is Kind.MISSING_OBJECT:
            stats.missing_object += 1
        if not shot.sends:
            stats.note("dropped", shot.request_id)
            if stats.keep_ids:
                stats.dropped_bodies.append(shot.body)
            return
        stats.compact_timestamps += shot.compact_timestamp
        delivery = await self.courier.deliver(shot.body)
        self._count(delivery)
        if delivery.acked:
            stats.note("acked" if shot.kind.acceptable else "unexpected", shot.request_id)
        else:
            stats.note("lost" if shot.kind.acceptable else "rejected", shot.request_id)
            return
        for _ in range(shot.duplicates):
            again = await self.courier.deliver(shot.body)
            self._count(again)
            stats.duplicates_sent += 1
            stats.duplicates_acked += again.acked

    def _count(self, delivery: Delivery) -> None:
        for attempt in delivery.attempts:
            self.stats.attempts += 1
            self.stats.outcomes[attempt.outcome] += 1
            self.stats.latencies.append(attempt.latency_s)
