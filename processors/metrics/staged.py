"""Counts of handled batches held back until the runner has committed them.

``handle`` may run twice over the same records (a retry, or a transaction that aborted and
is replayed after re-assignment), so a counter incremented in ``handle`` would count them
twice. ``StagedCounts`` keeps each batch's counts with the offsets it covers and releases
them only once the consumer group's committed offset has passed the batch: a committed batch
is never handed out again, and a batch handed out again replaces its staged counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Counts", "StagedCounts"]

Counts = Counter[tuple[str, str]]  # (project, item) -> screenshots


@dataclass
class _Batch:
    first: int  # offset of the batch's first record
    next: int  # one past its last record: the committed offset once it is committed
    counts: Counts


@dataclass
class StagedCounts:
    """Per-partition batches of counts waiting for their commit."""

    pending: dict[int, list[_Batch]] = field(default_factory=dict)

    def stage(self, partition: int, first: int, last: int, counts: Counts) -> None:
        """Hold ``counts`` of the batch ``first..last``. Staged batches of the partition
        from ``first`` on are dropped: the runner is handing those records out again, so
        they were never committed."""
        kept = [b for b in self.pending.get(partition, []) if b.first < first]
        kept.append(_Batch(first, last + 1, counts))
        self.pending[partition] = kept

    def release(self, committed: dict[int, int]) -> Counts:
        """The counts of every staged batch the committed offsets (partition -> next offset
        to read) have passed; they are no longer staged."""
        out: Counts = Counter()
        for partition, offset in committed.items():
            batches = self.pending.get(partition, [])
            for batch in batches:
                if batch.next <= offset:
                    out.update(batch.counts)
            left = [b for b in batches if b.next > offset]
            if left:
                self.pending[partition] = left
            else:
                self.pending.pop(partition, None)
        return out

    def discard(self, partitions: set[int]) -> None:
        """Forget the partitions' staged batches (call after a final ``release``)."""
        for partition in partitions:
            self.pending.pop(partition, None)

    def partitions(self) -> set[int]:
        """Partitions with batches still waiting for a commit."""
        return set(self.pending)
