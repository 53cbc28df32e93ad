"""The seen-set: remembers ids for the window, forgets them after, stays under its cap."""

from __future__ import annotations

import tracemalloc

from processors.dedupe.seen import SeenSet, digest

HOUR = 3_600_000
DAY = 24 * HOUR


def test_id_is_remembered_within_the_window_and_forgotten_after() -> None:
    seen = SeenSet(window_ms=DAY, buckets=24, max_ids=100)
    key = digest(b"req-1")
    seen.add(0, key, at_ms=10 * DAY)
    seen.expire(now_ms=11 * DAY - 1)
    assert seen.contains(0, key)
    seen.expire(now_ms=11 * DAY + HOUR + 1)  # one window and one bucket later
    assert not seen.contains(0, key)
    assert seen.size == 0


def test_partitions_are_separate_and_dropped_on_their_own() -> None:
    seen = SeenSet(window_ms=DAY, buckets=24, max_ids=100)
    seen.add(0, digest(b"a"), 0)
    seen.add(1, digest(b"b"), 0)
    assert not seen.contains(1, digest(b"a"))
    seen.drop({0})
    assert not seen.contains(0, digest(b"a"))
    assert seen.contains(1, digest(b"b"))
    assert seen.size == 1


def test_adding_an_id_twice_counts_it_once() -> None:
    seen = SeenSet(window_ms=DAY, buckets=24, max_ids=100)
    seen.add(0, digest(b"a"), 0)
    seen.add(0, digest(b"a"), 0)
    assert seen.size == 1


def test_cap_evicts_the_oldest_bucket_first() -> None:
    seen = SeenSet(window_ms=DAY, buckets=24, max_ids=3)
    seen.add(0, digest(b"old"), 0)
    seen.add(1, digest(b"mid"), HOUR)
    seen.add(0, digest(b"new1"), 2 * HOUR)
    seen.add(0, digest(b"new2"), 2 * HOUR)
    assert seen.size == 3
    assert seen.evicted == 1
    assert not seen.contains(0, digest(b"old"))
    assert seen.contains(1, digest(b"mid"))


def test_memory_per_remembered_id_stays_under_160_bytes() -> None:
    seen = SeenSet(window_ms=DAY, buckets=24, max_ids=10**7)
    keys = [digest(f"req-{i}".encode()) for i in range(100_000)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fresh = [bytes(bytearray(k)) for k in keys]  # new objects, as the handler makes them
    for i, key in enumerate(fresh):
        seen.add(i % 3, key, (i % 24) * HOUR)
    del keys
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per_id = used / 100_000
    assert 16 < per_id < 160, per_id
