"""Calling ``handle`` with bounded retries, and isolating the records that keep failing.

A batch whose ``handle`` raises ``RetriableError`` is retried with exponential backoff
(stamina) up to ``retry_attempts`` times. If it still fails — or raised something
unexpected — each record is tried alone once, so one poison record cannot hold back its
partition: the records that fail alone become dead letters carrying the last error and the
attempt count; the others are handled normally. ``FatalError`` propagates and stops the
runner. ``Backpressure`` propagates at once, from any attempt: it is no failure, counts no
attempt and dead-letters nothing; the engine holds the batch's partition and redelivers it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import stamina

from processors.errors import Backpressure, FatalError, RetriableError
from processors.runner.contract import DeadLetter, HandleResult, Processor, Record
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings

__all__ = ["handle_with_retries"]

log = logging.getLogger("shotline.processors")


async def handle_with_retries(
    processor: Processor[Any],
    batch: Sequence[Record[Any]],
    settings: RunnerSettings,
    metrics: RunnerMetrics,
) -> HandleResult:
    """The combined result of handling ``batch``; raises only ``FatalError`` and
    ``Backpressure``."""
    if not batch:
        return HandleResult()
    name = processor.name
    try:
        async for attempt in stamina.retry_context(
            on=RetriableError,
            attempts=settings.retry_attempts,
            wait_initial=settings.retry_initial_s,
            wait_max=settings.retry_max_s,
            wait_jitter=settings.retry_initial_s,
            timeout=None,
        ):
            with attempt:
                try:
                    return await processor.handle(batch)
                except RetriableError:
                    metrics.failed.labels(name, "retriable").inc()
                    raise
    except (FatalError, Backpressure):
        raise
    except Exception as exc:
        if not isinstance(exc, RetriableError):
            metrics.failed.labels(name, "unexpected").inc()
            log.exception("processor %s: handle raised unexpectedly", name)
        return await _one_by_one(processor, batch, settings.retry_attempts, metrics)
    raise AssertionError("unreachable: stamina either returns or raises")


async def _one_by_one(
    processor: Processor[Any],
    batch: Sequence[Record[Any]],
    attempts_so_far: int,
    metrics: RunnerMetrics,
) -> HandleResult:
    emits: list[Any] = []
    dead: list[DeadLetter] = []
    for record in batch:
        try:
            result = await processor.handle([record])
        except (FatalError, Backpressure):
            raise
        except Exception as exc:
            kind = "retriable" if isinstance(exc, RetriableError) else "unexpected"
            metrics.failed.labels(processor.name, kind).inc()
            error = f"{type(exc).__name__}: {exc}"
            retriable = kind == "retriable"
            attempts = attempts_so_far + 1 if retriable else 2
            dead.append(
                DeadLetter(
                    record=record,
                    error=error,
                    retriable=retriable,
                    attempts=attempts,
                    unexpected=not retriable,
                )
            )
            continue
        emits.extend(result.emits)
        dead.extend(result.dead)
    return HandleResult(emits=emits, dead=dead)
