"""The shared-timer deadlines used on the publish path."""

from __future__ import annotations

import asyncio
import time

import pytest

from ingest.deadlines import Deadlines


async def guarded(deadlines: Deadlines, seconds: float, work_s: float) -> str:
    entry = deadlines.start(seconds)
    try:
        await asyncio.sleep(work_s)
        return "done"
    except asyncio.CancelledError:
        if deadlines.expired(entry):
            return "expired"
        raise
    finally:
        entry.finished = True


async def test_work_that_overruns_is_stopped_at_its_deadline_not_when_the_work_ends() -> None:
    deadlines = Deadlines(resolution_s=0.01)
    start = time.monotonic()
    overrun = asyncio.create_task(guarded(deadlines, 0.1, 60.0))
    # A probe that ends well after the deadline but long before the work would: the deadline
    # must have stopped the work first. Ordering, not elapsed time, so load cannot flake it.
    probe = asyncio.create_task(asyncio.sleep(30.0))
    done, _ = await asyncio.wait({overrun, probe}, return_when=asyncio.FIRST_COMPLETED)
    assert done == {overrun}
    assert overrun.result() == "expired"
    assert time.monotonic() - start >= 0.1  # never before the deadline
    probe.cancel()


async def test_work_within_its_deadline_is_untouched_and_the_task_stays_usable() -> None:
    deadlines = Deadlines(resolution_s=0.01)
    results = await asyncio.gather(
        guarded(deadlines, 0.3, 0.01), guarded(deadlines, 0.05, 1.0), guarded(deadlines, 0.3, 0.1)
    )
    assert results == ["done", "expired", "done"]
    await asyncio.sleep(0.02)  # an expired task was uncancelled: it can still await


async def test_an_outside_cancellation_is_not_mistaken_for_the_deadline() -> None:
    deadlines = Deadlines(resolution_s=0.01)
    task = asyncio.create_task(guarded(deadlines, 10.0, 10.0))
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
