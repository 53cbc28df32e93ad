"""The review queue's rules, in memory: what is flagged, who sees it, what leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.decision import ReviewAction, ReviewDecision
from schemas.moderation import ModerationVerdict, Verdict
from shotline.console.queue import Filters, ReviewQueue


def verdict(rid: str, kind: Verdict, project: str = "alpha") -> ModerationVerdict:
    return ModerationVerdict(request_id=rid, project=project, verdict=kind)


def decision(rid: str, project: str = "alpha") -> ReviewDecision:
    return ReviewDecision(
        request_id=rid,
        project=project,
        verdict=Verdict.REVIEW,
        action=ReviewAction.CONFIRM,
        reviewer="alice",
        decided_at=datetime.now(UTC),
    )


def pending(queue: ReviewQueue, projects: set[str], **filters: object) -> list[str]:
    items, _ = queue.pending(frozenset(projects), Filters(**filters))  # type: ignore[arg-type]
    return [item.request_id for item in items]


def test_only_review_and_block_of_the_reviewers_projects_are_pending() -> None:
    queue = ReviewQueue(timedelta(hours=24))
    now = datetime.now(UTC)
    queue.add_verdict(verdict("a-pass", Verdict.PASS), now)
    queue.add_verdict(verdict("a-skip", Verdict.SKIPPED), now)
    queue.add_verdict(verdict("a-review", Verdict.REVIEW), now - timedelta(minutes=2))
    queue.add_verdict(verdict("a-block", Verdict.BLOCK), now - timedelta(minutes=1))
    queue.add_verdict(verdict("b-block", Verdict.BLOCK, "beta"), now)
    assert pending(queue, {"alpha"}) == ["a-block", "a-review"]  # newest first
    assert pending(queue, {"alpha"}, verdict="review") == ["a-review"]
    assert pending(queue, {"alpha"}, project="beta") == []
    assert pending(queue, {"alpha", "beta"}, project="beta") == ["b-block"]


def test_a_decision_removes_the_item_and_wakes_waiters() -> None:
    queue = ReviewQueue(timedelta(hours=24))
    queue.add_verdict(verdict("r", Verdict.REVIEW), datetime.now(UTC))
    before = queue.version
    queue.add_decision(decision("r"))
    assert queue.version > before
    assert pending(queue, {"alpha"}) == []
    queue.add_decision(decision("r").model_copy())  # read back from the topic: no change
    assert queue.decided("r") is not None


def test_old_verdicts_leave_the_window_and_the_hours_filter_narrows_it() -> None:
    queue = ReviewQueue(timedelta(hours=2))
    now = datetime.now(UTC)
    queue.add_verdict(verdict("old", Verdict.BLOCK), now - timedelta(hours=3))
    queue.add_verdict(verdict("hour", Verdict.BLOCK), now - timedelta(minutes=90))
    queue.add_verdict(verdict("new", Verdict.BLOCK), now)
    assert pending(queue, {"alpha"}) == ["new", "hour"]
    assert pending(queue, {"alpha"}, hours=1.0) == ["new"]
    queue.prune(now)
    assert queue.item("old") is None
    assert len(queue) == 2


def test_the_same_verdict_twice_is_kept_once() -> None:
    queue = ReviewQueue(timedelta(hours=24))
    at = datetime.now(UTC)
    queue.add_verdict(verdict("r", Verdict.REVIEW), at)
    queue.add_verdict(verdict("r", Verdict.REVIEW), at)
    verdicts, _ = queue.history("r")
    assert len(verdicts) == 1


def test_decisions_of_screenshots_outside_the_window_are_forgotten() -> None:
    queue = ReviewQueue(timedelta(hours=1))
    old = decision("gone").model_copy(update={"decided_at": datetime.now(UTC) - timedelta(hours=5)})
    queue.add_decision(old)
    queue.add_decision(decision("recent"))
    queue.prune()
    assert queue.decided("gone") is None
    assert queue.decided("recent") is not None
