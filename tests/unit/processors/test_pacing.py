"""The token bucket and the jittered backoff enrich and moderation share; the time is given,
so the bucket runs on made-up seconds."""

from __future__ import annotations

import random

import pytest

from processors.pacing import Jitter, TokenBucket, backoff_s


def test_bucket_gives_at_most_burst_plus_rate_per_second() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=100.0)
    taken = 0
    for step in range(1000):  # one second in 1-ms steps, taking whenever allowed
        while bucket.take(100.0 + step / 1000) == 0:
            taken += 1
    assert 12 <= taken <= 13  # burst 3 + 10/s (+1 for the refill at the closing edge)


def test_bucket_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=4, burst=1, now=100.0)
    assert bucket.take(100.0) == 0
    assert bucket.take(100.0) == 0.25


def test_bucket_takes_several_tokens_and_caps_a_take_above_its_burst() -> None:
    bucket = TokenBucket(rate=2, burst=4, now=0.0)
    assert bucket.take(0.0, 3) == 0
    assert bucket.take(0.0, 3) == 1.0, "one token left: two more at 2 a second"
    assert bucket.take(10.0, 9) == 0, "capped at the burst of 4, so it can succeed"
    assert bucket.take(10.0) == 0.5


@pytest.mark.parametrize(("jitter", "low"), [("full", 0.0), ("equal", 0.5)])
def test_backoff_doubles_up_to_its_maximum_within_its_jitter(jitter: Jitter, low: float) -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (40, 1.0)]:
        waits = [backoff_s(attempt, 0.2, 1.0, rng, jitter) for _ in range(200)]
        assert all(low * ceiling <= w <= ceiling for w in waits)
        assert max(waits) > 0.9 * ceiling
        assert min(waits) < (low + 0.1) * ceiling
