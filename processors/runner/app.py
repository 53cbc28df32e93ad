"""Hosting processors in one process: engines, the health port and graceful shutdown.

SIGTERM or SIGINT sets the stop event: each engine finishes the batch in progress, commits
it, leaves its consumer group and stops its processor. A second signal, or
``shutdown_timeout_s`` elapsing, cancels what is left. If any engine fails (``FatalError``,
lost broker at start, a failed restore) the others are stopped too and the exit code is 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Sequence
from typing import Any

from processors.runner.contract import Context, Processor
from processors.runner.engine import Engine
from processors.runner.health import HealthServer
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.stream import StreamEngine

__all__ = ["Runner", "tune_gc"]

log = logging.getLogger("shotline.processors")


def tune_gc(threshold: int) -> None:
    """Collect young objects every ``threshold`` allocations instead of every 700.

    A batch keeps thousands of records and models alive; with the default threshold the
    cyclic collector rescans them again and again and costs more than the processing. What
    exists at start-up (modules, settings) is frozen out of collection altogether.
    """
    if threshold > 0:
        gc.collect()
        gc.freeze()
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(threshold, gen1, gen2)


def _engine(
    processor: Processor[Any], ctx: Context, settings: RunnerSettings, metrics: RunnerMetrics
) -> Engine | StreamEngine:
    """One engine per guarantee: exactly-once processors need Kafka transactions (the
    aiokafka ``Engine``); every other processor runs on FastStream (``StreamEngine``)."""
    if processor.exactly_once:
        return Engine(processor, ctx, settings, metrics)
    return StreamEngine(processor, ctx, settings, metrics)


class Runner:
    """Runs ``(processor, context)`` pairs sharing one metrics registry and health port."""

    def __init__(
        self,
        units: Sequence[tuple[Processor[Any], Context]],
        settings: RunnerSettings,
        port: int,
    ) -> None:
        if not units:
            raise ValueError("no processors to run")
        names = [processor.name for processor, _ in units]
        if len(set(names)) != len(names):
            raise ValueError(f"processor names repeat: {names}")
        registry = units[0][1].registry
        metrics = RunnerMetrics(registry)
        self.settings = settings
        self.engines = [_engine(p, ctx, settings, metrics) for p, ctx in units]
        self.health = HealthServer(
            registry,
            lambda: {engine.name: engine.state for engine in self.engines},
            settings.host,
            port,
        )
        self.stop = asyncio.Event()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal)

    def _on_signal(self) -> None:
        if self.stop.is_set():
            for task in asyncio.all_tasks():
                if task.get_name().startswith("engine:"):
                    task.cancel()
        self.stop.set()

    async def run(self) -> int:
        """Run until stopped or an engine fails; the process exit code."""
        tune_gc(self.settings.gc_threshold)
        await self.health.start()
        tasks = [
            asyncio.create_task(engine.run(self.stop), name=f"engine:{engine.name}")
            for engine in self.engines
        ]
        failed = False
        try:
            pending: set[asyncio.Task[None]] = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.cancelled() or task.exception() is not None:
                        failed = True
                        if not task.cancelled():
                            exc = task.exception()
                            log.error("processor %s failed: %r", task.get_name()[7:], exc)
                        self.stop.set()
                if self.stop.is_set() and pending:
                    _, late = await asyncio.wait(pending, timeout=self.settings.shutdown_timeout_s)
                    for task in late:
                        task.cancel()
                        failed = True
                    with contextlib.suppress(BaseException):
                        await asyncio.gather(*late, return_exceptions=True)
                    for task in pending - late:
                        if task.cancelled() or task.exception() is not None:
                            failed = True
                    pending = set()
        finally:
            await self.health.stop()
        return 1 if failed else 0
