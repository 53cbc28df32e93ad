"""Sampling, per-channel interval, thresholds and the worst verdict."""

from __future__ import annotations

from processors.moderate.logic import ChannelGate, sampled, verdict_for, worst
from schemas.moderation import ModerationLabel, Verdict


def test_sampling_is_deterministic_and_close_to_the_fraction() -> None:
    ids = [f"req-{i}" for i in range(10_000)]
    first = [sampled(r, 0.1) for r in ids]
    assert first == [sampled(r, 0.1) for r in ids]
    assert 900 <= sum(first) <= 1100
    assert all(sampled(r, 1.0) for r in ids[:10])
    assert not any(sampled(r, 0.0) for r in ids[:10])


def test_one_screenshot_per_channel_per_interval() -> None:
    gate = ChannelGate()
    assert gate.admit("p", "room", 0, 10)
    assert not gate.admit("p", "room", 9_999, 10)
    assert gate.admit("p", "other", 5_000, 10)
    assert gate.admit("p", "room", 10_000, 10)
    assert gate.admit("p", "room", 10_001, 0)


def test_thresholds_on_the_highest_score() -> None:
    labels = [ModerationLabel(name="a", score=0.2), ModerationLabel(name="b", score=0.6)]
    assert verdict_for(labels, 0.5, 0.8) is Verdict.REVIEW
    assert verdict_for(labels, 0.7, 0.8) is Verdict.PASS
    assert verdict_for(labels, 0.5, 0.6) is Verdict.BLOCK
    assert verdict_for([], 0.5, 0.8) is Verdict.PASS
    assert worst([Verdict.PASS, Verdict.BLOCK, Verdict.REVIEW]) is Verdict.BLOCK
