"""The seen-set: which requestIds each input partition has already emitted, for a window.

Ids are kept in memory as 16-byte BLAKE2b digests of the requestId's UTF-8 bytes (a collision
between two of 10^9 ids has odds of about 10^-21); the digest is only this in-memory form: the
output record's key is the raw requestId. Each partition keeps them in one set (a
lookup is one hash probe) and, to forget them, in lists per time bucket
``bucket_ms = window / buckets`` wide; a bucket is dropped once it is older than the window, so
an id is remembered for at least the window and at most one bucket longer. Memory is bounded
by ``max_ids``: when full, the oldest bucket across partitions is dropped early (``evicted``
counts them, cumulatively). Measured cost in CPython 3.11: about 110 bytes per id (a 16-byte
``bytes`` object is 49 bytes, plus its set slot and its bucket list slot);
``tests/unit/processors/dedupe/test_seen.py`` checks < 160. So 10 million ids ≈ 1.1 GB; at a
sustained 500 callbacks/s a full 24 h window is 43 million ids (≈ 4.7 GB over all instances).

Pure: times are passed in (milliseconds since the epoch), nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Set

__all__ = ["SeenSet", "digest"]

_NONE: frozenset[bytes] = frozenset()


def digest(request_id: bytes) -> bytes:
    """The 16-byte in-memory form of a requestId's UTF-8 bytes (the output record's key is
    the requestId itself; ``on_assign`` digests it when restoring)."""
    return hashlib.blake2b(request_id, digest_size=16).digest()


class _Partition:
    """One partition's ids: a set for membership, and per time bucket the list of ids added
    in it, so a lookup is one hash probe however many buckets the window has."""

    __slots__ = ("buckets", "members")

    def __init__(self) -> None:
        self.members: set[bytes] = set()
        self.buckets: dict[int, list[bytes]] = {}

    def pop(self, index: int) -> int:
        ids = self.buckets.pop(index)
        self.members.difference_update(ids)
        return len(ids)


class SeenSet:
    def __init__(self, window_ms: int, buckets: int, max_ids: int) -> None:
        self.window_ms = window_ms
        self.bucket_ms = max(1, window_ms // buckets)
        self.max_ids = max_ids
        self._parts: dict[int, _Partition] = {}
        self.size = 0
        self.evicted = 0

    def partitions(self) -> set[int]:
        return set(self._parts)

    def contains(self, partition: int, key: bytes) -> bool:
        part = self._parts.get(partition)
        return part is not None and key in part.members

    def members(self, partition: int) -> Set[bytes]:
        """The partition's ids, for many lookups in a row (read only; valid until the next
        change of the seen-set)."""
        part = self._parts.get(partition)
        return _NONE if part is None else part.members

    def add(self, partition: int, key: bytes, at_ms: int) -> None:
        """Remember ``key`` as seen at ``at_ms``; an id already remembered keeps its time."""
        self.add_all(partition, (key,), at_ms)

    def add_all(self, partition: int, keys: Iterable[bytes], at_ms: int) -> None:
        """``add`` each of ``keys``, in order (the cap applies after each)."""
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition()
        members, buckets = part.members, part.buckets
        index = at_ms // self.bucket_ms
        ids = buckets.get(index)
        if ids is None:
            ids = buckets[index] = []
        for key in keys:
            if key in members:
                continue
            members.add(key)
            ids.append(key)
            self.size += 1
            if self.size > self.max_ids:
                self._evict_oldest()
                if index not in buckets:  # the bucket being filled was the oldest
                    ids = buckets[index] = []
        if not ids:
            buckets.pop(index, None)

    def expire(self, now_ms: int) -> None:
        """Drop buckets that ended more than a window before ``now_ms``."""
        oldest_kept = (now_ms - self.window_ms) // self.bucket_ms
        for part in self._parts.values():
            for index in [i for i in part.buckets if i < oldest_kept]:
                self.size -= part.pop(index)

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            part = self._parts.pop(partition, None)
            if part is not None:
                self.size -= len(part.members)

    def _evict_oldest(self) -> None:
        candidates = [(min(p.buckets), n) for n, p in self._parts.items() if p.buckets]
        if not candidates:
            return
        index, partition = min(candidates)
        removed = self._parts[partition].pop(index)
        self.size -= removed
        self.evicted += removed
