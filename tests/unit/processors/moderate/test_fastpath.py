"""Moderate's bytes-to-bytes fast path gives exactly what the regular runner path gives, and
leaves to it every batch it cannot answer alike (nothing changed when it declines)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from processors.errors import Backpressure, ProviderPaused
from processors.moderate.decide import Decided, Published
from processors.moderate.handler import ModerateProcessor
from processors.moderate.logic import sampled
from processors.moderate.records import skipped_json, skipped_verdict
from processors.runner.batch import BatchOutcome, process_batch
from processors.runner.codec import Raw, RawRecord
from processors.runner.fastpath import BytesHandler, BytesResult
from processors.runner.hooks import Hooks, find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import EnrichedScreenshot
from tests.unit.processors.moderate.shots import enriched, project, started
from tests.unit.processors.moderate.test_routing import CALLS, PROVIDERS

TOPIC = "t.shotline.screenshots.enriched.v1"
HEADERS = [("shotline-project", b"p1"), ("traceparent", b"00-abc-def-01")]
SAMPLE = 0.3
ODD = ["", "a", '"q"', "\\", "\x00\x01\x1f\x7f", "\n\t\r\b\f", "\u2028\u2029", "é漢😀", "</x>"]


async def twins(**settings: Any) -> tuple[ModerateProcessor, ModerateProcessor]:
    """Two processors alike: p1 moderated (a sample), p2 configured without moderation."""
    projects = {"p1": project({"providers": ["low"], "sample": SAMPLE}), "p2": project(None)}
    pair = [await started(projects, {"providers": PROVIDERS, **settings}) for _ in range(2)]
    return pair[0][0], pair[1][0]


def out_of_sample(n: int, start: int = 0) -> list[EnrichedScreenshot]:
    """p1 screenshots outside the sample (requestIds hashed out)."""
    shots = (enriched(i) for i in range(start, start + 10 * n))
    return [s for s in shots if not sampled(s.request_id, SAMPLE)][:n]


def in_sample(start: int = 0) -> EnrichedScreenshot:
    return next(
        s for i in range(start, start + 100) if sampled((s := enriched(i)).request_id, SAMPLE)
    )


def raws(values: list[bytes], partition: int = 3, first: int = 100) -> list[Raw]:
    return [
        Raw(TOPIC, partition, first + i, b"ignored-key", v, 1_700_000_000_000, HEADERS)
        for i, v in enumerate(values)
    ]


def mixed() -> list[bytes]:
    """sampled_out, not_configured (configured without a route, and unknown), no_object,
    odd strings, and a screenshot twice."""
    shots = out_of_sample(4)
    odd = [
        enriched(900 + i).model_copy(update={"request_id": f"odd-{i}-{s}", "project": s})
        for i, s in enumerate(ODD)
    ]
    values = [
        *shots[:2],
        enriched(50, project="p2"),
        enriched(51, project="nope"),
        enriched(52).model_copy(update={"s3": None}),
        shots[0],  # again in the same batch: one verdict
        *odd,
        *shots[2:],
    ]
    return [s.model_dump_json().encode() for s in values]


async def run(
    proc: ModerateProcessor, batch: list[Raw], answers: list[bool] | None = None
) -> BatchOutcome:
    """``batch`` through the runner's batch step: with the fast path when ``answers`` is
    given (it gets whether the fast path answered), else without it (decode → handle →
    encode: moderate has no other hook)."""
    metrics = RunnerMetrics(CollectorRegistry())
    hooks = Hooks()
    if answers is not None:
        fast = find_hooks(proc).handle_bytes
        assert fast is not None

        def watched(raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
            result = fast(raws, skip)
            answers.append(result is not None)
            return result

        hooks = Hooks(handle_bytes=watched)
    return await process_batch(proc, batch, "dlq", RunnerSettings(), metrics, hooks)


def comparable(outcome: BatchOutcome) -> list[tuple[object, ...]]:
    """Output records without the dead letters' failure times and providers' latencies."""
    rows: list[tuple[object, ...]] = []
    for rec in outcome.output:
        value = rec.value
        if rec.topic == "dlq":
            value = value.split(b',"first_failure_at"')[0]
        value = re.sub(rb'"latency_ms":[0-9.]+', b'"latency_ms":0', value)
        rows.append((rec.topic, rec.partition, rec.key, value, rec.headers))
    return rows


def samples(proc: ModerateProcessor) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert proc._metrics is not None
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in (proc._metrics.verdicts, proc._metrics.sampled_out)
        for s in metric.collect()[0].samples
        if not s.name.endswith("_created")
    }


def state(proc: ModerateProcessor) -> list[tuple[str, object, int, int]]:
    """The remembered outcomes, in order, without the providers' latencies."""
    return [
        (
            rid,
            Decided(o.verdict.model_copy(update={"latency_ms": 0}))
            if isinstance(o, Decided)
            else o,
            p,
            off,
        )
        for rid, (o, p, off) in proc._decided.items()
    ]


async def same(
    fast_proc: ModerateProcessor, regular_proc: ModerateProcessor, batch: list[Raw], answered: bool
) -> BatchOutcome:
    """Runs ``batch`` through both paths and checks they agree in everything; ``answered``:
    whether the fast path answers it (else it declines)."""
    answers: list[bool] = []
    fast = await run(fast_proc, batch, answers)
    assert answers == [answered]
    regular = await run(regular_proc, batch)
    assert comparable(fast) == comparable(regular)
    assert (fast.handled, fast.emitted, fast.dead_by_reason) == (
        regular.handled,
        regular.emitted,
        regular.dead_by_reason,
    )
    assert samples(fast_proc) == samples(regular_proc)
    assert state(fast_proc) == state(regular_proc)
    return fast


@pytest.mark.parametrize("reason", ["not_configured", "no_object", "sampled_out"])
@pytest.mark.parametrize("text", [*ODD, "req-1", "x" * 5000])
def test_skipped_json_is_the_models_json(text: str, reason: str) -> None:
    model = skipped_verdict(text, text[::-1], reason).model_dump_json().encode()
    assert skipped_json(text, text[::-1], reason) == model


async def test_skipped_batches_equal_the_regular_path() -> None:
    fast_proc, regular_proc = await twins()
    assert isinstance(fast_proc, BytesHandler)
    assert find_hooks(regular_proc).handle_bytes is not None  # run() leaves it out
    batch = raws(mixed())
    outcome = await same(fast_proc, regular_proc, batch, answered=True)
    assert len(fast_proc._decided) == len(batch) - 1
    assert fast_proc.handle_bytes(raws(mixed(), first=900), [False] * len(batch)) is None
    reasons = [(r.key, r.value.split(b'"reason":')[1].split(b",")[0]) for r in outcome.output]
    assert reasons[:5] == [
        (reasons[0][0], b'"sampled_out"'),
        (reasons[1][0], b'"sampled_out"'),
        (b"req-50", b'"not_configured"'),
        (b"req-51", b'"not_configured"'),
        (b"req-52", b'"no_object"'),
    ]
    assert len(outcome.output) == len(batch) - 1
    assert all(r.partition == 3 and r.headers == HEADERS for r in outcome.output)
    assert samples(fast_proc)[
        (
            "shotline_moderation_sampled_out_total",
            (("project", "other"), ("reason", "not_configured")),
        )
    ] == 1 + len(ODD)


async def test_a_later_copy_gets_the_same_verdict_from_the_regular_path() -> None:
    fast_proc, regular_proc = await twins()
    first = await same(fast_proc, regular_proc, raws(mixed()), answered=True)
    assert fast_proc.handle_bytes(raws(mixed()), [False] * len(mixed())) is None  # all known
    again = await same(fast_proc, regular_proc, raws(mixed(), first=500), answered=False)
    assert comparable(again) == comparable(first)


async def test_a_sampled_in_record_is_left_to_the_regular_path() -> None:
    """The fast path answers the skipped records and leaves the sampled-in one, with its
    copy later in the batch, to the regular path; together they give what the regular path
    gives for the whole batch."""
    CALLS.clear()
    fast_proc, regular_proc = await twins()
    sampled_in = in_sample().model_dump_json().encode()
    values = [*mixed(), sampled_in, *mixed()[:1], sampled_in]
    probe, _ = await twins()
    answer = probe.handle_bytes(raws(values), [False] * len(values))
    assert answer is not None
    assert answer.rest == [len(values) - 3, len(values) - 1]  # both copies, nothing else
    outcome = await same(fast_proc, regular_proc, raws(values), answered=True)
    assert outcome.output[-1].key == in_sample().request_id.encode()
    assert b'"verdict":"pass"' in outcome.output[-1].value
    assert len(CALLS) == 2  # one provider call per path; the probe's fast path made none
    assert sum(r.key == in_sample().request_id.encode() for r in outcome.output) == 1


async def test_a_batch_of_sampled_in_records_alone_is_declined() -> None:
    fast_proc, _ = await twins()
    values = [in_sample().model_dump_json().encode(), in_sample(200).model_dump_json().encode()]
    assert fast_proc.handle_bytes(raws(values), [False] * len(values)) is None
    assert not fast_proc._decided  # nothing changed
    assert not samples(fast_proc)


async def test_records_the_twin_does_not_vouch_for_go_to_the_model() -> None:
    fast_proc, regular_proc = await twins()
    shot = out_of_sample(1, start=300)[0]
    text = shot.model_dump_json()
    stamp = shot.received_at.isoformat().replace("+00:00", "Z")
    seventh = text.replace(stamp, stamp.replace("Z", ".1234567Z"), 1).encode()
    assert seventh != text.encode()  # pydantic truncates it, the twin leaves it to pydantic
    for odd in (b'{"not": "an enriched screenshot"}', seventh):
        values = [*mixed(), odd]
        assert fast_proc.handle_bytes(raws(values), [False] * len(values)) is None
        assert not fast_proc._decided
    outcome = await same(fast_proc, regular_proc, raws([*mixed(), seventh, b"{}"]), answered=False)
    assert outcome.dead_by_reason == {"invalid": 1}
    assert outcome.output[-2].key == shot.request_id.encode()


async def test_restored_verdicts_are_left_to_the_regular_path() -> None:
    fast_proc, regular_proc = await twins()
    shots = out_of_sample(3)
    for proc in (fast_proc, regular_proc):
        proc._decided[shots[1].request_id] = (Published(), 3, -1)
    values = [s.model_dump_json().encode() for s in shots]
    outcome = await same(fast_proc, regular_proc, raws(values), answered=True)
    assert [r.key for r in outcome.output] == [
        shots[0].request_id.encode(),
        shots[2].request_id.encode(),
    ]


async def test_the_cache_bound_holds_alike() -> None:
    fast_proc, regular_proc = await twins(result_cache=3)
    await same(fast_proc, regular_proc, raws(mixed()), answered=True)
    assert len(fast_proc._decided) == len(mixed()) - 1  # one batch's outcomes are all kept
    await same(
        fast_proc,
        regular_proc,
        raws([s.model_dump_json().encode() for s in out_of_sample(2, 700)]),
        answered=True,
    )
    assert len(fast_proc._decided) == 3


async def test_skipped_records_need_nothing() -> None:
    fast_proc, _ = await twins()
    values = mixed()
    flags = [i % 2 == 1 for i in range(len(values))]
    assert fast_proc.handle_bytes(raws(values), flags) is not None
    assert len(fast_proc._decided) == len([f for f in flags if not f])


async def test_a_paused_provider_in_the_regular_part_counts_the_batch_once() -> None:
    """The regular part raises ``Backpressure``: nothing is published and the batch comes
    again. Counted as the regular path counts it: once, when the batch is answered."""
    fast_proc, regular_proc = await twins()
    values = [*mixed(), in_sample().model_dump_json().encode()]
    for proc in (fast_proc, regular_proc):
        moderate, paused = proc._moderator.moderate, [True]

        async def once_paused(work: Any, moderate: Any = moderate, paused: Any = paused) -> Any:
            if paused.pop() if paused else False:
                raise ProviderPaused("low", 1.0, "breaker open")
            return await moderate(work)

        proc._moderator.moderate = once_paused  # type: ignore[method-assign]
    for proc, answers in ((fast_proc, []), (regular_proc, None)):
        with pytest.raises(Backpressure):
            await run(proc, raws(values), answers)
    assert samples(fast_proc) == samples(regular_proc) == {}
    await same(fast_proc, regular_proc, raws(values), answered=False)  # all decided: declined
    assert samples(fast_proc)[
        ("shotline_moderation_sampled_out_total", (("project", "p1"), ("reason", "sampled_out")))
    ] == len(out_of_sample(4))


async def test_a_split_batch_keeps_all_its_outcomes_past_the_cache_bound() -> None:
    fast_proc, regular_proc = await twins(result_cache=3)
    values = [*mixed(), in_sample().model_dump_json().encode()]
    await same(fast_proc, regular_proc, raws(values), answered=True)
    assert len(fast_proc._decided) == len(values) - 1  # one batch's outcomes are all kept
    assert fast_proc._pinned == 0
