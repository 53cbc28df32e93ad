"""Routing over in-memory providers: first-answer fallback, worst-verdict mode, skips,
and configuration errors that stop the stage with a clear message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from processors.errors import FatalError, ProviderRejected
from processors.moderate.providers.base import ImageRequest, ImageSource, ProviderAnswer
from schemas.moderation import ModerationLabel, Verdict
from tests.unit.processors.moderate.shots import enriched, project, record, started

CALLS: list[tuple[str, str]] = []


class Scripted:
    """A provider answering a fixed score, or refusing every image."""

    batch_size = 2

    def __init__(self, name: str, config: Any, images: ImageSource) -> None:
        self.name = name
        self.score = float(config.options.get("score", 0.0))
        self.refuse = bool(config.options.get("refuse", False))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def call(self, items: Sequence[ImageRequest]) -> list[ProviderAnswer]:
        CALLS.extend((self.name, item.request_id) for item in items)
        if self.refuse:
            raise ProviderRejected(f"{self.name} refuses")
        label = ModerationLabel(name="x", score=self.score)
        return [ProviderAnswer(labels=(label,), model=f"m-{self.name}") for _ in items]


KIND = "tests.unit.processors.moderate.test_routing:Scripted"
PROVIDERS = {
    "low": {"kind": KIND, "options": {"score": 0.1}},
    "high": {"kind": KIND, "options": {"score": 0.95}},
    "broken": {"kind": KIND, "options": {"refuse": True}},
}


async def _verdicts(route: dict[str, Any], n: int = 3) -> tuple[list[Any], list[Any]]:
    CALLS.clear()
    proc, _ = await started({"p1": project(route)}, {"providers": PROVIDERS})
    try:
        result = await proc.handle([record(enriched(i), offset=i) for i in range(n)])
    finally:
        await proc.stop()
    return [e.value for e in result.emits], list(result.dead)


async def test_first_mode_falls_back_when_a_provider_refuses() -> None:
    verdicts, dead = await _verdicts({"providers": ["broken", "high"]})
    assert not dead
    assert {(v.provider, v.verdict, v.reason) for v in verdicts} == {
        ("high", Verdict.BLOCK, "fallback")
    }
    assert [name for name, _ in CALLS].count("broken") == 3


async def test_first_mode_stops_at_the_first_answer() -> None:
    verdicts, _ = await _verdicts({"providers": ["low", "high"]})
    assert {(v.provider, v.verdict) for v in verdicts} == {("low", Verdict.PASS)}
    assert {name for name, _ in CALLS} == {"low"}


async def test_worst_mode_asks_all_and_the_worst_wins() -> None:
    verdicts, _ = await _verdicts({"providers": ["low", "high"], "mode": "worst"})
    assert {(v.provider, v.verdict) for v in verdicts} == {("high", Verdict.BLOCK)}
    assert {name for name, _ in CALLS} == {"low", "high"}


async def test_worst_mode_dead_letters_when_one_provider_refuses() -> None:
    verdicts, dead = await _verdicts({"providers": ["low", "broken"], "mode": "worst"})
    assert not verdicts
    assert {d.reason for d in dead} == {"provider_rejected"}


async def test_skips_say_why() -> None:
    proc, _ = await started(
        {
            "p1": project({"providers": ["low"], "per_channel_interval_s": 3600}),
            "p2": project(None),
        },
        {"providers": PROVIDERS},
    )
    shots = [enriched(0), enriched(1), enriched(2, project="p2"), enriched(3, project="nope")]
    no_object = enriched(4, cname="room_9").model_copy(update={"s3": None})
    try:
        result = await proc.handle([record(s, offset=i) for i, s in enumerate([*shots, no_object])])
    finally:
        await proc.stop()
    reasons = {e.key: (e.value.verdict, e.value.reason) for e in result.emits}
    assert reasons == {
        "req-0": (Verdict.PASS, None),
        "req-1": (Verdict.SKIPPED, "channel_interval"),
        "req-2": (Verdict.SKIPPED, "not_configured"),
        "req-3": (Verdict.SKIPPED, "not_configured"),
        "req-4": (Verdict.SKIPPED, "no_object"),
    }


async def test_unknown_provider_in_a_route_stops_the_stage() -> None:
    with pytest.raises(FatalError, match="unknown providers"):
        await started({"p1": project({"providers": ["missing"]})}, {"providers": PROVIDERS})


async def test_missing_secret_stops_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOTLINE_TEST_UNSET_SECRET", raising=False)
    hook = {"url": "http://127.0.0.1:9/hook", "secret_env": "SHOTLINE_TEST_UNSET_SECRET"}
    with pytest.raises(FatalError, match="SHOTLINE_TEST_UNSET_SECRET"):
        await started(
            {"p1": project({"providers": ["low"], "action_webhook": hook})},
            {"providers": PROVIDERS},
        )


async def test_refusal_is_kept_for_the_same_record_but_a_replay_is_decided_afresh() -> None:
    CALLS.clear()
    proc, _ = await started({"p1": project({"providers": ["broken"]})}, {"providers": PROVIDERS})
    shot = enriched(0)
    try:
        first = await proc.handle([record(shot, offset=7)])
        again = await proc.handle([record(shot, offset=7)])  # the same record redelivered
        assert len(CALLS) == 1
        replayed = await proc.handle([record(shot, offset=90)])  # `shotline dlq replay`
        assert len(CALLS) == 2
        duplicate = await proc.handle([record(shot, offset=91)])
    finally:
        await proc.stop()
    for result in (first, again, replayed, duplicate):
        assert [d.reason for d in result.dead] == ["provider_rejected"]
    assert len(CALLS) == 3  # each new copy of a refused screenshot is asked again


async def test_a_verdict_holds_for_every_later_copy_of_the_screenshot() -> None:
    CALLS.clear()
    proc, _ = await started({"p1": project({"providers": ["high"]})}, {"providers": PROVIDERS})
    shot = enriched(0)
    try:
        first = await proc.handle([record(shot, offset=1)])
        copy = await proc.handle([record(shot, offset=2)])
    finally:
        await proc.stop()
    assert len(CALLS) == 1
    assert [e.value for e in copy.emits] == [e.value for e in first.emits]
