"""The seen-set: which requestIds each input partition has already emitted, for a window.

Ids are kept in memory as 16-byte BLAKE2b digests of the requestId's UTF-8 bytes (a collision
between two of 10^9 ids has odds of about 10^-21); the digest is only this in-memory form: the
output record's key is the raw requestId. They sit in per-partition time buckets
``bucket_ms = window / buckets`` wide; a bucket is dropped once it is older than the window, so
an id is remembered for at least the window and at most one bucket longer. Memory is bounded
by ``max_ids``: when full, the oldest bucket across partitions is dropped early (``evicted``
counts them, cumulatively). Measured cost in CPython 3.11: about 100 bytes per id (a 16-byte
``bytes`` object is 49 bytes, plus its set slot);
``tests/unit/processors/test_dedupe_seen.py`` checks < 160. So 10 million ids ≈ 1 GB; at a
sustained 500 callbacks/s a full 24 h window is 43 million ids (≈ 4.3 GB over all instances).

Pure: times are passed in (milliseconds since the epoch), nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["SeenSet", "digest"]


def digest(request_id: bytes) -> bytes:
    """The 16-byte in-memory form of a requestId's UTF-8 bytes (the output record's key is
    the requestId itself; ``on_assign`` digests it when restoring)."""
    return hashlib.blake2b(request_id, digest_size=16).digest()


class SeenSet:
    def __init__(self, window_ms: int, buckets: int, max_ids: int) -> None:
        self.window_ms = window_ms
        self.bucket_ms = max(1, window_ms // buckets)
        self.max_ids = max_ids
        self._parts: dict[int, dict[int, set[bytes]]] = {}
        self.size = 0
        self.evicted = 0

    def partitions(self) -> set[int]:
        return set(self._parts)

    def contains(self, partition: int, key: bytes) -> bool:
        buckets = self._parts.get(partition)
        if buckets:
            for ids in buckets.values():  # a plain loop: any() with a generator costs 2x
                if key in ids:
                    return True
        return False

    def add(self, partition: int, key: bytes, at_ms: int) -> None:
        """Remember ``key`` as seen at ``at_ms`` (callers check ``contains`` first)."""
        buckets = self._parts.setdefault(partition, {})
        index = at_ms // self.bucket_ms
        ids = buckets.get(index)
        if ids is None:
            ids = buckets[index] = set()
        if key not in ids:
            ids.add(key)
            self.size += 1
            if self.size > self.max_ids:
                self._evict_oldest()

    def expire(self, now_ms: int) -> None:
        """Drop buckets that ended more than a window before ``now_ms``."""
        oldest_kept = (now_ms - self.window_ms) // self.bucket_ms
        for buckets in self._parts.values():
            for index in [i for i in buckets if i < oldest_kept]:
                self.size -= len(buckets.pop(index))

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            for ids in self._parts.pop(partition, {}).values():
                self.size -= len(ids)

    def _evict_oldest(self) -> None:
        candidates = [(min(b), p) for p, b in self._parts.items() if b]
        if not candidates:
            return
        index, partition = min(candidates)
        removed = len(self._parts[partition].pop(index))
        self.size -= removed
        self.evicted += removed
