"""The e2e bench's per-hop breakdown: the arithmetic, the note, and the requestIds it joins on."""

from __future__ import annotations

import math

import orjson
import pytest

from schemas.wire import decode_envelope, decode_screenshot
from shotline.bench.hops import (
    HOPS,
    hop_delays,
    hop_summary,
    raw_request_id,
    screenshot_request_id,
)
from tests.callbacks_factory import envelope
from tests.screenshots_factory import screenshot


def _path(count: int) -> tuple[dict[str, float], ...]:
    """``count`` screenshots due 1 ms apart whose hops take i, 2i, 3i and 4i ms."""
    due = {f"r{i}": 1000.0 + i / 1000 for i in range(count)}
    stages: list[dict[str, float]] = [due]
    for factor in (1, 2, 3, 4):
        before = stages[-1]
        stages.append({f"r{i}": before[f"r{i}"] + factor * i / 1000 for i in range(count)})
    return tuple(stages)


def test_each_hop_runs_from_one_stage_sending_to_the_next() -> None:
    due, raw, screenshots, enriched, arrivals = _path(100)
    delays = hop_delays(due, raw, screenshots, enriched, arrivals)
    assert list(delays) == list(HOPS)
    for factor, name in enumerate(HOPS, start=1):
        hop = delays[name]
        assert (hop.count, hop.missing) == (100, 0)
        assert hop.p50_ms == pytest.approx(50 * factor)
        assert hop.p90_ms == pytest.approx(90 * factor)
        assert hop.p99_ms == pytest.approx(99 * factor)


def test_a_screenshot_missing_from_a_topic_is_left_out_of_its_two_hops_and_counted() -> None:
    due, raw, screenshots, enriched, arrivals = _path(10)
    del screenshots["r9"]  # the slowest: without it the dedupe and enrich hops end at r8
    del arrivals["r0"]
    delays = hop_delays(due, raw, screenshots, enriched, arrivals)
    counts = {name: (hop.count, hop.missing) for name, hop in delays.items()}
    assert counts == {"ingest": (10, 0), "dedupe": (9, 1), "enrich": (9, 1), "read": (9, 1)}
    assert delays["dedupe"].p99_ms == pytest.approx(2 * 8)
    assert delays["read"].p50_ms == pytest.approx(4 * 5)  # r1..r9: the middle one is r5


def test_only_the_due_screenshots_count() -> None:
    due, raw, screenshots, enriched, arrivals = _path(4)
    raw["earlier-step"] = 0.0  # another step's record, read back with this one's
    delays = hop_delays(due, raw, screenshots, enriched, arrivals)
    assert delays["ingest"].count == 4
    assert delays["ingest"].p99_ms == pytest.approx(3)


def test_a_hop_nobody_crossed_has_no_quantiles_and_says_so() -> None:
    due, raw, _, _, _ = _path(3)
    delays = hop_delays(due, raw, {}, {}, {})
    assert delays["ingest"].count == 3
    assert math.isnan(delays["enrich"].p50_ms)
    assert hop_summary(delays) == (
        "ingest 1/2, dedupe - (3 missing), enrich - (3 missing), read - (3 missing)"
    )


def test_the_note_gives_each_hop_in_path_order() -> None:
    due, raw, screenshots, enriched, arrivals = _path(100)
    del enriched["r3"]
    assert hop_summary(hop_delays(due, raw, screenshots, enriched, arrivals)) == (
        "ingest 50/99, dedupe 100/198, enrich 150/297 (1 missing), read 200/396 (1 missing)"
    )


def test_the_raw_request_id_comes_from_the_envelope_twin_or_the_model() -> None:
    plain = envelope(7).model_dump_json().encode()
    assert decode_envelope(plain) is not None
    assert raw_request_id(plain) == "req-7"
    document = orjson.loads(plain)
    document["callback"]["sendTime"] = "later"  # a sender's extra: only the model decides
    extra = orjson.dumps(document)
    assert decode_envelope(extra) is None
    assert raw_request_id(extra) == "req-7"
    assert raw_request_id(b'{"callback": {}}') is None
    assert raw_request_id(b"not json") is None


def test_the_screenshot_request_id_comes_from_the_record_twin_or_the_model() -> None:
    record = screenshot(3, "p1")
    plain = record.model_dump_json().encode()
    assert decode_screenshot(plain) is not None
    assert screenshot_request_id(plain) == "req-3"
    document = orjson.loads(plain)
    document["callback"]["sendTime"] = "later"
    extra = orjson.dumps(document)
    assert decode_screenshot(extra) is None
    assert screenshot_request_id(extra) == "req-3"
    assert screenshot_request_id(plain.replace(b'"request_id"', b'"requestId"')) is None
