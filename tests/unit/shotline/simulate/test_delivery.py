from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from shotline.simulate import Courier, Planner, SimulateSettings
from tests.unit.shotline.simulate.receiver import Misbehaviour, Receiver


def _body(receiver: Receiver) -> bytes:
    return Planner(SimulateSettings(url=receiver.url, seed=3)).next(datetime.now(UTC)).body


async def _deliver(receiver: Receiver, timeout_s: float = 5.0) -> list[str]:
    courier = Courier(receiver.url, concurrency=4, timeout_s=timeout_s)
    try:
        delivery = await courier.deliver(_body(receiver))
    finally:
        await courier.close()
    assert delivery.acked == (delivery.attempts[-1].outcome == "200")
    return [a.outcome for a in delivery.attempts]


async def test_200_with_json_body_is_success_at_first_attempt(receiver: Receiver) -> None:
    assert await _deliver(receiver) == ["200"]
    headers, _ = receiver.requests[0]
    assert headers["content-type"] == "application/json;charset=utf-8"
    assert len(receiver.accepted) == 1


async def test_error_status_is_retried_three_times_in_total(receiver: Receiver) -> None:
    receiver.misbehaviour = Misbehaviour(status=503, body=b'{"error": "busy"}')
    assert await _deliver(receiver) == ["503", "503", "503"]
    assert receiver.statuses[503] == 3


async def test_200_without_json_body_is_a_failure(receiver: Receiver) -> None:
    receiver.misbehaviour = Misbehaviour(status=200, body=b"OK")
    assert await _deliver(receiver) == ["non_json"] * 3


async def test_a_late_answer_is_a_timeout_and_retried(receiver: Receiver) -> None:
    receiver.misbehaviour = Misbehaviour(delay_s=0.5)
    assert await _deliver(receiver, timeout_s=0.2) == ["timeout"] * 3


async def test_retry_after_a_failure_can_succeed(receiver: Receiver) -> None:
    receiver.misbehaviour = Misbehaviour(status=500, body=b"{}", times=1)
    assert await _deliver(receiver) == ["500", "200"]
    assert sum(receiver.accepted.values()) == 1


async def test_a_refused_connection_is_a_failure() -> None:
    courier = Courier("http://127.0.0.1:9/v1/callbacks/x", concurrency=1, timeout_s=1)
    try:
        delivery = await courier.deliver(b"{}")
    finally:
        await courier.close()
    assert [a.outcome for a in delivery.attempts] == ["connection"] * 3
    assert not delivery.acked


async def test_concurrency_is_spread_over_parallel_connections(receiver: Receiver) -> None:
    receiver.misbehaviour = Misbehaviour(status=200, body=b'{"ok": true}', delay_s=0.4)
    courier = Courier(receiver.url, concurrency=16)
    bodies = [f'{{"n": {i}}}'.encode() for i in range(16)]
    started = time.perf_counter()
    try:
        deliveries = await asyncio.gather(*(courier.deliver(b) for b in bodies))
    finally:
        await courier.close()
    elapsed = time.perf_counter() - started
    assert all(d.acked for d in deliveries)
    # 16 slow answers in parallel take one delay, not sixteen.
    assert elapsed < 1.0
