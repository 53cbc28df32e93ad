"""Staged counts are released once, and only when the committed offset passes their batch."""

from __future__ import annotations

from collections import Counter

from processors.metrics.staged import StagedCounts


def c(n: int) -> Counter[tuple[str, str]]:
    return Counter({("acme", "billable"): n})


def test_a_batch_counts_nothing_until_the_committed_offset_passes_it() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    assert staged.release({0: 9}) == Counter()  # offset 9 not committed yet
    assert staged.release({0: 10}) == c(10)
    assert staged.release({0: 10}) == Counter()  # released once only
    assert staged.partitions() == set()


def test_a_batch_handled_again_replaces_its_staged_counts() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    staged.stage(0, first=10, last=19, counts=c(7))
    # The transaction of 10..19 aborted; the runner hands 10..19 out again.
    staged.stage(0, first=10, last=19, counts=c(7))
    assert staged.release({0: 20}) == c(17)


def test_a_retry_from_an_earlier_offset_drops_every_later_batch() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=4, counts=c(5))
    staged.stage(0, first=5, last=9, counts=c(5))
    staged.stage(0, first=0, last=9, counts=c(10))  # re-assigned: resumed at offset 0
    assert staged.release({0: 10}) == c(10)


def test_partitions_are_released_independently_and_discarded_when_revoked() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=0, counts=c(1))
    staged.stage(1, first=0, last=0, counts=Counter({("beta", "billable"): 2}))
    assert staged.release({1: 1}) == Counter({("beta", "billable"): 2})
    assert staged.partitions() == {0}
    staged.discard({0})
    assert staged.release({0: 1}) == Counter()
