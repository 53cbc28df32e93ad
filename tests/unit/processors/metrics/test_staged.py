"""Staged counts are released once, and only when the runner settles their batch as committed."""

from __future__ import annotations

from collections import Counter

from processors.metrics.staged import StagedCounts


def c(n: int) -> Counter[tuple[str, str]]:
    return Counter({("acme", "billable"): n})


def test_a_committed_batch_is_released_once() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    assert staged.settle(0, first=0, last=9, committed=True) == c(10)
    assert staged.settle(0, first=0, last=9, committed=True) == Counter()  # once only
    assert staged.partitions() == set()


def test_an_aborted_batch_counts_nothing_and_its_retry_counts_once() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    assert staged.settle(0, first=0, last=9, committed=False) == Counter()
    assert staged.partitions() == set()
    staged.stage(0, first=0, last=9, counts=c(10))  # the runner hands it out again
    assert staged.settle(0, first=0, last=9, committed=True) == c(10)


def test_a_batch_handled_again_before_settling_replaces_its_staged_counts() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    staged.stage(0, first=0, last=9, counts=c(10))
    assert staged.settle(0, first=0, last=9, committed=True) == c(10)


def test_records_handled_one_by_one_add_up_within_their_batch() -> None:
    staged = StagedCounts()
    # handle failed on the whole batch; the runner retried each record alone.
    for offset in range(5):
        staged.stage(0, first=offset, last=offset, counts=c(1))
    assert staged.settle(0, first=0, last=4, committed=True) == c(5)


def test_counts_staged_outside_the_settled_batch_are_dropped() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=4, counts=c(5))  # never settled
    staged.stage(0, first=5, last=9, counts=c(5))
    assert staged.settle(0, first=5, last=9, committed=True) == c(5)
    assert staged.partitions() == set()


def test_partitions_settle_independently_and_are_discarded_when_revoked() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=0, counts=c(1))
    staged.stage(1, first=0, last=0, counts=Counter({("beta", "billable"): 2}))
    assert staged.settle(1, first=0, last=0, committed=True) == Counter({("beta", "billable"): 2})
    assert staged.partitions() == {0}
    staged.discard({0})
    assert staged.settle(0, first=0, last=0, committed=True) == Counter()


def test_the_next_batch_staged_while_this_one_commits_waits_for_its_own_settle() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    staged.stage(0, first=10, last=19, counts=c(7))  # handled while 0..9 commits
    assert staged.settle(0, first=0, last=9, committed=True) == c(10)
    assert staged.partitions() == {0}
    assert staged.settle(0, first=10, last=19, committed=True) == c(7)
    assert staged.partitions() == set()


def test_a_void_batch_after_an_aborted_one_counts_nothing() -> None:
    staged = StagedCounts()
    staged.stage(0, first=0, last=9, counts=c(10))
    staged.stage(0, first=10, last=19, counts=c(7))
    assert staged.settle(0, first=0, last=9, committed=False) == Counter()
    assert staged.settle(0, first=10, last=19, committed=False) == Counter()
    assert staged.partitions() == set()
