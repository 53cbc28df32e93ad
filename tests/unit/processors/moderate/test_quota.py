"""Retry-After parsing, the gate and the breaker, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from processors.moderate.providers.http import parse_retry_after
from processors.moderate.quota import Breaker, BreakerState, Gate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_gate_closes_for_the_longest_retry_after() -> None:
    clock = Clock()
    gate = Gate(clock)
    gate.close_for(2)
    gate.close_for(1)
    clock.now += 0.5
    assert gate.wait_s() == 1.5


def test_breaker_opens_then_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = Breaker(failures=3, open_s=5, clock=clock)
    for _ in range(3):
        assert breaker.admit() == 0
        breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.admit() == 5
    clock.now += 5
    assert breaker.admit() == 0  # the trial
    assert breaker.admit() > 0  # others wait for it
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 5
    assert breaker.admit() == 0
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() == 0
