"""The join's decisions with fake clocks: whichever side arrives second emits, HeadObject
outcomes, the token bucket and the concurrency cap, and what stays in the checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from prometheus_client import CollectorRegistry

from processors.enrich.join import Join
from processors.enrich.logic import (
    Denied,
    Found,
    Missing,
    ObjectEvent,
    Transient,
    facts_from_head,
)
from processors.enrich.metrics import EnrichMetrics
from processors.enrich.settings import EnrichSettings
from processors.runner.contract import Record
from schemas import ProjectConfig, ScreenshotRecord
from schemas.s3event import S3EventDocument
from tests.screenshots_factory import s3_event, screenshot

T0 = 1_780_000_000.0  # the fake clocks' start (monotonic and wall): 2026


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def setup(**settings: object) -> tuple[Join, Clock, EnrichMetrics]:
    clock = Clock()
    metrics = EnrichMetrics.create(CollectorRegistry())
    projects = {
        "p1": ProjectConfig(callback_addr="https://x", bucket="b1"),
        "nobucket": ProjectConfig(callback_addr="https://x"),
    }
    join = Join(
        EnrichSettings.model_validate(settings), projects, metrics, "out", "dlq", clock, clock
    )
    join.warm = True
    return join, clock, metrics


def record(i: int, offset: int | None = None, project: str = "p1") -> Record[ScreenshotRecord]:
    at = datetime.fromtimestamp(T0, UTC)
    return Record(
        screenshot(i, project, at), f"req-{i}", "in", 0, i if offset is None else offset, 0
    )


def event_for(
    rec: Record[ScreenshotRecord], size: int = 7, seq: str | None = None
) -> list[ObjectEvent]:
    raw = s3_event("b1", rec.value.callback.object, size, "abc", seq)
    return [ObjectEvent.of(event) for event in S3EventDocument.model_validate_json(raw).records]


def value(encoded_value: bytes) -> dict[str, object]:
    parsed: dict[str, object] = orjson.loads(encoded_value)
    return parsed


def test_event_first_then_screenshot_emits_in_handle_with_event_facts() -> None:
    join, _, _ = setup()
    rec = record(1)
    join.on_events(event_for(rec))
    emit = join.decide(rec)
    assert emit is not None
    assert emit.key == "req-1"
    s3 = emit.value.model_dump()["s3"]
    assert (s3["bucket"], s3["key"], s3["size"], s3["etag"], s3["source"]) == (
        "b1",
        rec.value.callback.object,
        7,
        "abc",
        "event",
    )
    assert len(join.pending) == 0


def test_screenshot_first_then_event_emits_from_the_outbox_and_leaves_checkpoint_on_ack() -> None:
    join, _, _ = setup()
    rec = record(1)
    assert join.decide(rec) is None
    assert join.pending.checkpoint(0) == (2, [1])
    join.on_events(event_for(rec))
    sent = join.take_outbox()
    assert [value(enc.value)["request_id"] for _, enc in sent] == ["req-1"]
    assert join.pending.checkpoint(0) == (2, [1]), "still listed until acknowledged"
    join.acked(sent)
    assert join.pending.checkpoint(0) == (2, [])
    assert join.due() == [], "no HeadObject for a screenshot settled by its event"


def test_project_without_bucket_passes_through_with_null_s3() -> None:
    join, _, metrics = setup()
    emit = join.decide(record(1, project="nobucket"))
    assert emit is not None
    assert emit.value.model_dump()["s3"] is None
    assert metrics.no_bucket.labels("nobucket")._value.get() == 1


def test_head_waits_event_wait_then_404_retries_until_missing_after_then_dead_letters() -> None:
    join, clock, metrics = setup(event_wait_s=30, missing_after_s=120)
    rec = record(1)
    join.decide(rec)
    clock.now = T0 + 29
    assert join.due() == []
    clock.now = T0 + 30
    [item] = join.due()
    join.after_head(item, Missing())
    assert join.take_outbox() == []
    assert len(join.pending) == 1
    clock.now = T0 + 121
    [item] = join.due()
    join.after_head(item, Missing())
    [(_, dead)] = join.take_outbox()
    assert dead.topic == "dlq"
    assert value(dead.value)["reason"] == "missing_object"
    assert metrics.missing.labels("p1")._value.get() == 1


def test_access_denied_dead_letters_at_once() -> None:
    join, _, _ = setup(event_projects=())
    join.decide(record(1))
    [item] = join.due()
    join.after_head(item, Denied("403: Forbidden"))
    [(_, dead)] = join.take_outbox()
    assert value(dead.value)["reason"] == "access_denied"


def test_transient_errors_retry_with_backoff_and_then_find_the_object() -> None:
    join, clock, _ = setup(event_projects=(), retry_initial_s=1, retry_max_s=4)
    rec = record(1)
    join.decide(rec)
    for _ in range(20):  # far more failures than attempts of a batch: never dead-lettered
        [item] = join.due()
        join.after_head(item, Transient("503: SlowDown"))
        assert join.take_outbox() == []
        clock.now += 4
    [item] = join.due()
    facts = facts_from_head("b1", rec.value.callback.object, {"ContentLength": 3, "ETag": '"e"'})
    join.after_head(item, Found(facts))
    [(_, out)] = join.take_outbox()
    assert value(out.value)["s3"]["source"] == "head"  # type: ignore[index]


def test_transient_errors_dead_letter_only_after_the_budget() -> None:
    join, clock, _ = setup(event_projects=(), retry_max_s=1, transient_budget_s=10)
    join.decide(record(1))
    [item] = join.due()
    join.after_head(item, Transient("timeout"))
    clock.now += 11
    [item] = join.due()
    join.after_head(item, Transient("timeout"))
    [(_, dead)] = join.take_outbox()
    assert value(dead.value)["reason"] == "head_failed"


def test_token_bucket_and_concurrency_cap_bound_head_calls() -> None:
    join, clock, _ = setup(event_projects=(), head_rate=5, head_concurrency=3)
    for i in range(20):
        join.decide(record(i))
    first = join.due()
    assert len(first) == 3, "concurrency cap"
    for item in first:
        join.after_head(item, Missing())
    assert len(join.due()) == 2, "the bucket held 5 tokens"
    clock.now += 1.0
    assert len(join.due()) == 1, "tokens again, but 2 still in flight of the cap of 3"


def test_newer_sequencer_wins_and_removed_object_is_forgotten() -> None:
    join, _, _ = setup()
    rec = record(1)
    join.on_events(event_for(rec, size=9, seq="0B"))
    join.on_events(event_for(rec, size=5, seq="0A"))
    emit = join.decide(rec)
    assert emit is not None
    assert emit.value.model_dump()["s3"]["size"] == 9
    removed = s3_event("b1", rec.value.callback.object, 0, "").replace(
        b"ObjectCreated", b"ObjectRemoved"
    )
    join.on_events(
        [ObjectEvent.of(e) for e in S3EventDocument.model_validate_json(removed).records]
    )
    assert join.decide(record(1, offset=5)) is None, "a deleted object has no facts"
