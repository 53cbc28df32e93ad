"""enrich's fast path (``handle_bytes``) gives what the regular path gives: the same records
published (bytes, keys, partitions, headers, order), the same dead letters, the same
pending set and checkpoint, the same metrics; and the screenshots it leaves pending are
settled later (by an event or a HeadObject) exactly as the regular path's are.

Each test runs one batch through the runner's ``process_batch`` twice, on two processors
fed the same events: once with the fast path and once without it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from processors.enrich import bytepath
from processors.enrich.handler import EnrichProcessor
from processors.enrich.logic import Found, ObjectEvent, enriched, enriched_json, facts_from_head
from processors.runner.batch import BatchOutcome, process_batch
from processors.runner.codec import Encoded, Raw, RawRecord, encode
from processors.runner.contract import Emit
from processors.runner.fastpath import BytesResult
from processors.runner.hooks import Hooks, find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import EnrichedScreenshot, S3ObjectFacts, ScreenshotRecord
from schemas.s3event import S3EventDocument
from schemas.wire import WireS3Facts, decode_screenshot
from schemas.wire import encode as encode_wire
from tests.screenshots_factory import s3_event, screenshot
from tests.unit.processors.enrich.test_join import T0, Clock, setup

HEADERS = [("shotline-project", b"p1"), ("bin", b"\xff\x00"), ("bin", None)]


def processor(**settings: object) -> tuple[EnrichProcessor, Clock, CollectorRegistry]:
    enrich = EnrichProcessor()
    enrich.join, clock, enrich.metrics = setup(**settings)
    enrich.settings = enrich.join.settings
    registry = CollectorRegistry()
    for metric in vars(enrich.metrics).values():  # the join's metrics, in one registry
        registry.register(metric)
    return enrich, clock, registry


def shot(i: int, project: str = "p1") -> ScreenshotRecord:
    return screenshot(i, project, datetime.fromtimestamp(T0, UTC))


def raw(offset: int, value: bytes, key: bytes | None = None) -> Raw:
    return Raw("in", 0, offset, key, value, 1_000 + offset, HEADERS)


def event(
    record: ScreenshotRecord, size: int = 7, seq: str | None = None, **extra: str
) -> list[ObjectEvent]:
    """The ObjectCreated event of ``record``'s object (``extra``: more object fields)."""
    doc = orjson.loads(s3_event("b1", record.callback.object, size, '"abc"', seq))
    doc["Records"][0]["s3"]["object"].update(extra)
    return [
        ObjectEvent.of(e) for e in S3EventDocument.model_validate_json(orjson.dumps(doc)).records
    ]


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def comparable(out: Sequence[Encoded]) -> list[tuple[Any, ...]]:
    """Encoded records, dead letters without their failure times."""
    rows: list[tuple[Any, ...]] = []
    for enc in out:
        value: Any = enc.value
        if enc.topic == "dlq":
            value = orjson.loads(enc.value)
            del value["first_failure_at"], value["last_failure_at"]
        rows.append((enc.topic, enc.partition, enc.key, value, enc.headers))
    return rows


Run = tuple[EnrichProcessor, BatchOutcome, CollectorRegistry]


async def run(raws: Sequence[Raw], prepare: Any, fast: bool, settings: dict[str, object]) -> Run:
    """The batch through a fresh processor (``prepare(processor)`` first: events), with
    the fast path (which must answer, not decline or fail) or without it."""
    enrich, _, registry = processor(**settings)
    if prepare is not None:
        prepare(enrich)
    assert find_hooks(enrich).handle_bytes is not None
    answers: list[BytesResult | None] = []

    def spy(raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
        answers.append(enrich.handle_bytes(raws, skip))  # raising leaves answers empty
        return answers[-1]

    hooks = Hooks(handle_bytes=spy) if fast else Hooks()
    metrics = RunnerMetrics(CollectorRegistry())
    outcome = await process_batch(enrich, raws, "dlq", RunnerSettings(), metrics, hooks)
    if fast:
        assert answers, "the fast path did not fail"
        assert answers[0] is not None, "the fast path answered"
    return enrich, outcome, registry


async def both(raws: Sequence[Raw], prepare: Any = None, **settings: object) -> tuple[Run, Run]:
    """The batch through the fast path and the regular one."""
    return await run(raws, prepare, True, settings), await run(raws, prepare, False, settings)


def assert_same(fast: Run, regular: Run) -> None:
    (f, f_out, f_reg), (r, r_out, r_reg) = fast, regular
    assert comparable(f_out.output) == comparable(r_out.output)
    assert (f_out.handled, f_out.emitted, f_out.dead_by_reason) == (
        r_out.handled,
        r_out.emitted,
        r_out.dead_by_reason,
    )
    assert f.join.pending.checkpoint(0) == r.join.pending.checkpoint(0)
    assert len(f.join.pending) == len(r.join.pending)
    assert samples(f_reg) == samples(r_reg)


def nameless(record: ScreenshotRecord) -> ScreenshotRecord:
    """``record`` as dedupe writes one whose object name did not parse."""
    return record.model_copy(update={"object": None, "object_error": "not an Agora name"})


def mixed_batch() -> tuple[list[Raw], list[ScreenshotRecord]]:
    """Found by its event, no bucket, an unparsed object name, waiting (no event yet), a
    value the model must decide (7 fractional digits), invalid JSON, a refused record, one
    found, written with other spacing and key order than the model's; one of a project not
    configured (``other`` in metrics, s3 null)."""
    found, waiting, other = shot(1), shot(2), shot(3)
    seven = orjson.loads(shot(4).model_dump_json())
    seven["received_at"] = "2026-05-28T20:26:40.1234567Z"  # pydantic truncates, msgspec rounds
    reordered = dict(reversed(list(orjson.loads(other.model_dump_json()).items())))
    values = [
        found.model_dump_json().encode(),
        shot(5, "nobucket").model_dump_json().encode(),
        nameless(shot(6)).model_dump_json().encode(),
        waiting.model_dump_json().encode(),
        orjson.dumps(seven),
        b"{not json",
        b'{"project": "p1"}',
        orjson.dumps(reordered, option=orjson.OPT_INDENT_2),
        shot(9, "unconfigured").model_dump_json().encode(),
    ]
    return [raw(10 + i, v, f"req-{i}".encode()) for i, v in enumerate(values)], [found, other]


async def test_mixed_batch_gives_the_regular_paths_output_dead_letters_state_and_metrics() -> None:
    raws, with_events = mixed_batch()
    assert decode_screenshot(raws[4].value or b"") is None, "the twin leaves it to the model"
    assert ScreenshotRecord.model_validate_json(raws[4].value or b"")

    events = [event(record) for record in with_events]  # one eventTime for both runs

    def prepare(enrich: EnrichProcessor) -> None:
        for records in events:
            enrich.join.on_events(records)

    fast, regular = await both(raws, prepare)
    assert_same(fast, regular)
    _, out, _ = fast
    assert out.dead_by_reason == {"invalid": 2}
    published = [orjson.loads(e.value)["request_id"] for e in out.output[:5]]
    assert published == ["req-1", "req-5", "req-6", "req-3", "req-9"]
    assert fast[0].join.pending.checkpoint(0) == (19, [13, 14]), "req-2 and req-4 wait"


async def test_pending_screenshots_are_settled_alike_by_event_and_by_head_object() -> None:
    first, second = shot(1), shot(2)
    raws = [
        raw(i, r.model_dump_json().encode(), r.request_id.encode())
        for i, r in enumerate([first, second])
    ]
    fast, regular = await both(raws, event_projects=())
    assert_same(fast, regular)
    assert fast[1].output == [], "both wait"
    outboxes = []
    settling = event(first, size=11, seq="0A")
    for enrich, _, _ in (fast, regular):
        join = enrich.join
        join.on_events(settling)
        [item] = join.due()  # second: no event source, so its HeadObject is due at once
        head = {"ContentLength": 5, "ETag": '"h"', "LastModified": datetime.fromtimestamp(T0, UTC)}
        join.after_head(item, Found(facts_from_head("b1", item.where[1], head)))
        sent = join.take_outbox()
        join.acked(sent)
        outboxes.append(comparable([enc for _, enc in sent]))
        # the event's output as the model path built it: enriched model, then serialised
        facts = join.index.get(("b1", first.callback.object))
        model_path = encode(Emit("out", "req-1", enriched(first, facts), headers=HEADERS))
        assert comparable([sent[0][1]]) == comparable([model_path])
        assert join.pending.checkpoint(0) == (2, [])
    assert outboxes[0] == outboxes[1]
    assert [orjson.loads(v[3])["s3"]["source"] for v in outboxes[0]] == ["event", "head"]
    assert samples(fast[2]) == samples(regular[2])


async def test_a_newer_event_replaces_the_facts_the_fast_path_writes() -> None:
    record = shot(1)

    newest = event(record, 12, "0C", contentType="image/jpeg", versionId="v2")
    events = [event(record, 9, "0B"), event(record, 5, "0A"), newest]

    def prepare(enrich: EnrichProcessor) -> None:
        for records in events:  # 0A is older than 0B: ignored
            enrich.join.on_events(records)

    fast, regular = await both([raw(3, record.model_dump_json().encode())], prepare)
    assert_same(fast, regular)
    s3 = orjson.loads(fast[1].output[0].value)["s3"]
    assert (s3["size"], s3["content_type"], s3["version_id"]) == (12, "image/jpeg", "v2")


def test_enriched_json_is_the_models_json_byte_for_byte() -> None:
    record = shot(7)
    wire = decode_screenshot(record.model_dump_json().encode())
    assert wire is not None
    modified = datetime(2026, 3, 1, 12, 0, 1, 250000, tzinfo=UTC)
    facts = S3ObjectFacts(
        bucket="b",
        key="k é",
        size=3,
        etag="e",
        content_type=None,
        last_modified=modified,
        source="event",
    )
    twin = WireS3Facts(**{**facts.model_dump(), "last_modified": modified})  # type: ignore[arg-type]
    for model_facts, wire_facts in ((facts, twin), (None, None)):
        model = EnrichedScreenshot(**record.model_dump(exclude={"schema_version"}), s3=model_facts)
        expected = model.model_dump_json().encode()
        assert enriched_json(encode_wire(wire), wire_facts) == expected
        assert enriched_json(record.model_dump_json().encode(), wire_facts) == expected


async def test_a_full_pending_set_declines_the_batch_and_changes_nothing() -> None:
    enrich, _, registry = processor(max_pending=1)
    raws = [raw(0, shot(1).model_dump_json().encode())]
    first = enrich.handle_bytes(raws, [False])
    assert first is not None
    assert first.output == []
    assert len(enrich.join.pending) == 1
    before = samples(registry)
    assert enrich.handle_bytes([raw(1, shot(2).model_dump_json().encode())], [False]) is None
    assert enrich.join.pending.checkpoint(0) == (1, [0])
    assert samples(registry) == before


async def test_a_batch_of_invalid_records_is_dead_lettered_alike() -> None:
    fast, regular = await both([raw(0, b"[]"), raw(1, b'{"project": 1}')])
    assert_same(fast, regular)
    assert fast[1].dead_by_reason == {"invalid": 2}


def test_a_fast_path_that_fails_midway_leaves_the_state_untouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrich, _, registry = processor()
    found, waiting = shot(1), shot(2)
    enrich.join.on_events(event(found))
    before = samples(registry)
    calls: list[object] = []

    def failing(screenshot_json: object, facts: object) -> bytes:
        calls.append(screenshot_json)
        raise RuntimeError("a bug")

    monkeypatch.setattr(bytepath, "enriched_json", failing)
    raws = [raw(0, waiting.model_dump_json().encode()), raw(1, found.model_dump_json().encode())]
    with pytest.raises(RuntimeError):
        enrich.handle_bytes(raws, [False, False])
    assert calls, "it failed on the second record, after deciding the first"
    assert enrich.join.pending.checkpoint(0) == (0, [])
    assert samples(registry) == before
