"""Counts of handled batches held back until the runner reports their commit.

``handle`` may run again over the same records (a transaction that aborted, or a batch
handled record by record after it failed whole), so a counter incremented in ``handle``
would count them twice. ``StagedCounts`` keeps each handled batch's counts with the offsets
it covers until the runner's ``after_commit`` settles the partition batch: committed, the
counts of the batches inside it are released once; not committed, they are dropped (the
batch will be handled again and staged afresh).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Counts", "StagedCounts"]

Counts = Counter[tuple[str, str]]  # (project, item) -> screenshots


@dataclass
class _Batch:
    first: int  # offset of the batch's first record
    last: int  # offset of its last record
    counts: Counts


@dataclass
class StagedCounts:
    """Per-partition batches of counts waiting for ``settle``."""

    pending: dict[int, list[_Batch]] = field(default_factory=dict)

    def stage(self, partition: int, first: int, last: int, counts: Counts) -> None:
        """Hold ``counts`` of the batch ``first..last``. Staged batches of the partition
        from ``first`` on are dropped: those records are being handled again, so the
        earlier attempt was never committed."""
        kept = [b for b in self.pending.get(partition, []) if b.first < first]
        kept.append(_Batch(first, last, counts))
        self.pending[partition] = kept

    def settle(self, partition: int, first: int, last: int, committed: bool) -> Counts:
        """The runner settled the partition batch ``first..last``: return the counts staged
        inside it if ``committed``, else nothing. Batches staged up to ``last`` are gone
        afterwards (anything before the batch was never committed); later ones stay: the
        runner handles the next batch while this one commits."""
        batches = self.pending.pop(partition, [])
        later = [batch for batch in batches if batch.first > last]
        if later:
            self.pending[partition] = later
        out: Counts = Counter()
        if committed:
            for batch in batches:
                if first <= batch.first and batch.last <= last:
                    out.update(batch.counts)
        return out

    def discard(self, partitions: set[int]) -> None:
        """Forget the partitions' staged batches (revoked: none of them committed)."""
        for partition in partitions:
            self.pending.pop(partition, None)

    def partitions(self) -> set[int]:
        """Partitions with batches still waiting for their commit."""
        return set(self.pending)
