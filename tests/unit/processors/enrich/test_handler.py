"""The handler's side of the runner contract without Kafka: a full pending set is
backpressure, never an unbounded wait or a dead letter."""

from __future__ import annotations

import time

import pytest

from processors.enrich.handler import EnrichProcessor
from processors.errors import Backpressure
from tests.unit.processors.enrich.test_join import record, setup


async def test_full_pending_set_raises_backpressure_before_deciding_anything() -> None:
    enrich = EnrichProcessor()
    enrich.join, _, enrich.metrics = setup(max_pending=2)
    enrich.settings = enrich.join.settings
    await enrich.handle([record(1), record(2)])
    assert len(enrich.join.pending) == 2
    began = time.monotonic()
    with pytest.raises(Backpressure) as raised:
        await enrich.handle([record(3)])
    assert raised.value.reason == "pending_full"
    assert time.monotonic() - began < 3
    assert len(enrich.join.pending) == 2, "the refused batch left no state behind"
