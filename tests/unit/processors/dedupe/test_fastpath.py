"""Dedupe's bytes-to-bytes fast path gives exactly what the regular runner path gives."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from prometheus_client import CollectorRegistry

from processors.dedupe.handler import DedupeProcessor
from processors.dedupe.seen import SeenSet
from processors.runner.batch import BatchOutcome, process_batch
from processors.runner.codec import Raw
from processors.runner.contract import Batch, HandleResult
from processors.runner.fastpath import BytesHandler
from processors.runner.hooks import find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import CallbackEnvelope, ScreenshotRecord, Topics
from tests.callbacks_factory import envelope, envelope_bytes


class Regular:
    """A dedupe processor seen without its fast path (decode → handle → encode)."""

    name = "dedupe"
    input_model = CallbackEnvelope
    exactly_once = True

    def __init__(self, inner: DedupeProcessor) -> None:
        self.inner = inner

    def input_topic(self, topics: Topics) -> str:
        return self.inner.input_topic(topics)

    def skip_keys(self, partition: int, keys: Sequence[bytes | None]) -> list[bool]:
        return self.inner.skip_keys(partition, keys)

    async def handle(self, batch: Batch[CallbackEnvelope]) -> HandleResult:
        return await self.inner.handle(batch)


def dedupe() -> DedupeProcessor:
    proc = DedupeProcessor()
    proc._seen = SeenSet(window_ms=86_400_000, buckets=24, max_ids=1000)
    proc._output = "out"
    return proc


def mixed_batch() -> list[Raw]:
    """Duplicates, an invalid value, a record keyed otherwise, an unparsable object name."""
    bad_name = envelope(7)
    bad_name = bad_name.model_copy(
        update={"callback": bad_name.callback.model_copy(update={"object": "flat.jpg"})}
    )
    values: list[tuple[bytes | None, bytes]] = [
        (b"req-1", envelope_bytes(1)),
        (b"req-2", envelope_bytes(2)),
        (b"req-1", envelope_bytes(1)),
        (b"req-3", b'{"not": "an envelope"}'),
        (b"someone-else", envelope_bytes(4)),
        (b"req-7", bad_name.model_dump_json().encode()),
        (None, envelope_bytes(5)),
        (b"req-2", envelope_bytes(2)),
    ]
    headers = [("shotline-project", b"demo"), ("traceparent", b"00-abc-def-01")]
    return [
        Raw("in", 2, 100 + i, key, value, 1_700_000_000_000, headers)
        for i, (key, value) in enumerate(values)
    ]


async def run(proc: object, raws: list[Raw]) -> BatchOutcome:
    metrics = RunnerMetrics(CollectorRegistry())
    return await process_batch(proc, raws, "dlq", RunnerSettings(), metrics, find_hooks(proc))  # type: ignore[arg-type]


def comparable(outcome: BatchOutcome) -> list[tuple[object, ...]]:
    """Output records without the dead letters' failure times."""
    rows: list[tuple[object, ...]] = []
    for rec in outcome.output:
        value = rec.value
        if rec.topic == "dlq":
            value = value.split(b',"first_failure_at"')[0]
        rows.append((rec.topic, rec.partition, rec.key, value, rec.headers))
    return rows


async def test_fast_path_output_equals_the_regular_path_record_for_record() -> None:
    fast_proc, regular_proc = dedupe(), dedupe()
    assert isinstance(fast_proc, BytesHandler)
    assert not isinstance(Regular(regular_proc), BytesHandler)
    for batch in (mixed_batch(), mixed_batch()):  # the second: everything already seen
        fast = await run(fast_proc, batch)
        regular = await run(Regular(regular_proc), batch)
        assert comparable(fast) == comparable(regular)
        assert (fast.handled, fast.emitted, fast.dead_by_reason) == (
            regular.handled,
            regular.emitted,
            regular.dead_by_reason,
        )
    assert fast_proc._seen.size == regular_proc._seen.size == 3


async def test_fast_path_emits_first_occurrences_and_dead_letters_the_rest() -> None:
    outcome = await run(dedupe(), mixed_batch())
    assert [r.key for r in outcome.output[: outcome.emitted]] == [
        b"req-1",
        b"req-2",
        b"req-7",
    ]
    assert outcome.dead_by_reason == {"invalid": 1, "rejected": 2}  # other key, no key
    assert outcome.handled == 8 - 3


def unusual_values() -> list[bytes]:
    """Envelopes that exercise the output JSON: sender extras, non-ASCII, other forms of
    ``timestamp``, a received_at in another zone, skew beyond tolerance, checksum states."""
    base = envelope(11, cname="Zimmer_ß_🙂", uid="ü-7")
    body = orjson.loads(base.model_dump_json())
    variants = []
    for change in (
        {"callback": {**body["callback"], "extraField": {"nested": [1, 2.5, None]}}},
        {"callback": {**body["callback"], "timestamp": "20260301120011000"}},
        {"callback": {**body["callback"], "timestamp": 20260301120011250}},
        {"callback": {**body["callback"], "timestamp": str(body["callback"]["timestamp"])}},
        {"callback": {**body["callback"], "timestamp": body["callback"]["timestamp"] + 10**7}},
        {"received_at": "2026-03-01T13:00:11.123456+01:00", "checksum_status": "mismatch"},
        {"checksum_status": "skipped", "project": 'tenant "quoted" </>'},
        # 17 digits that are not a real time: the time comes from the object name ...
        {"callback": {**body["callback"], "timestamp": 20261399000000000}},
        # ... or, when the object name has none, from received_at
        {"callback": {**body["callback"], "timestamp": "99999999999999998", "object": "x.jpg"}},
        {
            "callback": {
                **body["callback"],
                "object": "a/b/20260301/" + "f" * 32 + "_x__uid_s_1"
                "__uid_e_video_20261399000000000.jpg",
            }
        },
    ):
        variants.append(orjson.dumps({**body, **change}))
    return variants


async def test_fast_path_json_equals_the_validated_model_for_unusual_values() -> None:
    raws = [Raw("in", 0, i, b"req-11", value) for i, value in enumerate(unusual_values())]
    for i, raw in enumerate(raws):  # one record per batch: each is new to its processor
        fast = await run(dedupe(), [raw])
        regular = await run(Regular(dedupe()), [raw])
        assert fast.emitted == regular.emitted == 1, i
        assert comparable(fast) == comparable(regular), i
        record = ScreenshotRecord.model_validate_json(fast.output[0].value)
        assert record.model_dump_json().encode() == fast.output[0].value


async def test_headers_pass_through_unchanged_on_both_paths() -> None:
    """Binary values, a repeated name and a null value reach the output as consumed."""
    headers = [
        ("shotline-project", b"demo"),
        ("bin", b"\xff\x00\x80"),
        ("shotline-project", b"again"),
        ("null", None),
    ]
    raw = Raw("in", 0, 5, b"req-1", envelope_bytes(1), 0, headers)
    fast = await run(dedupe(), [raw])
    regular = await run(Regular(dedupe()), [raw])
    assert fast.output[0].headers == regular.output[0].headers == headers
