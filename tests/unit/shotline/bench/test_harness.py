"""The shared bench harness: steady-state sampling, and that it is no scenario itself."""

from __future__ import annotations

import math
import time

import shotline.bench
from shotline.bench.harness import steady_rate
from shotline.bench.runner import discover


def test_the_harness_is_not_discovered_as_a_scenario() -> None:
    assert list(discover(shotline.bench)) == [
        "ingest",
        "dedupe",
        "enrich",
        "metrics",
        "moderate",
        "e2e",
    ]


async def test_steady_rate_counts_from_the_first_nonzero_sample_until_total() -> None:
    began = time.monotonic()

    def count() -> float:  # 1,000 units per second after a 0.2 s warm-up
        elapsed = time.monotonic() - began
        return max(0.0, (elapsed - 0.2) * 1000)

    rate = await steady_rate(count, total=500, duration_s=5.0)
    assert time.monotonic() - began < 2.0  # stopped at total, not at the deadline
    assert 700 < rate.per_s < 1300
    assert rate.cpu_us >= 0


async def test_steady_rate_stops_after_duration_once_counting_started() -> None:
    began = time.monotonic()
    rate = await steady_rate(lambda: 1.0 + time.monotonic() - began, total=1e9, duration_s=0.3)
    assert time.monotonic() - began < 1.0
    assert 0.5 < rate.per_s < 1.5


async def test_steady_rate_without_progress_is_zero_per_second_and_nan_cpu() -> None:
    rate = await steady_rate(lambda: 1.0, total=10, duration_s=0.2)
    assert rate.per_s == 0.0
    assert math.isnan(rate.cpu_us)
