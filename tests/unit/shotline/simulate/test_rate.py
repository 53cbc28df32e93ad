from __future__ import annotations

import pytest

from shotline.simulate.rate import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_events_are_spaced_by_one_over_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    delays = [pacer.delay() for _ in range(3)]
    assert delays == pytest.approx([0.0, 0.1, 0.2])


def test_a_late_caller_catches_up_in_a_burst() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    pacer.delay()
    clock.now += 0.5
    assert [pacer.delay() for _ in range(5)] == [0.0] * 5
    assert pacer.delay() > 0


def test_burst_never_exceeds_the_limit_after_a_long_stall() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, max_burst_s=1.0, clock=clock)
    pacer.delay()
    clock.now += 60
    immediate = 0
    while pacer.delay() == 0.0:
        immediate += 1
    assert immediate <= 101
