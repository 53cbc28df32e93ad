"""The moderate handler against a misbehaving provider over real HTTP on loopback.

The runner's part is played by ``drive``: batches of 100 records are handled; a
``Backpressure`` (breaker open) waits its ``retry_after_s`` and hands the SAME batch again,
as the at-least-once engine does with paused partitions.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from processors.errors import Backpressure
from processors.runner.contract import DeadLetter, Emit, Record
from schemas.moderation import ModerationVerdict, Verdict
from tests.integration.processors.moderate.fakeprovider import (
    FakeProvider,
    Script,
    score_of,
    serving,
)
from tests.unit.processors.moderate.shots import enriched, project, record, started

pytestmark = pytest.mark.slow

N = 1000
RATE, BURST = 120.0, 10
POISON = frozenset({"req-13", "req-444", "req-777"})
REJECT = frozenset({"req-5", "req-600"})


async def drive(
    proc: Any, records: list[Record[Any]]
) -> tuple[list[Emit], list[DeadLetter], list[tuple[float, float, str]]]:
    emits: list[Emit] = []
    dead: list[DeadLetter] = []
    pauses: list[tuple[float, float, str]] = []
    for start in range(0, len(records), 100):
        batch = records[start : start + 100]
        while True:
            try:
                result = await proc.handle(batch)
            except Backpressure as exc:
                pauses.append((time.monotonic(), exc.retry_after_s, exc.reason))
                await asyncio.sleep(exc.retry_after_s)
                continue
            emits.extend(result.emits)
            dead.extend(result.dead)
            break
    return emits, dead, pauses


async def test_thousand_screenshots_each_end_once_within_quota() -> None:
    script = Script(
        poison=POISON,
        reject=REJECT,
        error_every=61,
        garbage_every=73,
        slow_every=97,
        slow_s=1.0,
        burst_at=150,
        burst_s=0.2,
        retry_after="2",
        outage_at=500,
        outage_s=1.2,
    )
    fake = FakeProvider(script)
    async with serving(fake) as url:
        provider = {
            "kind": "http",
            "url": url,
            "rate_per_s": RATE,
            "burst": BURST,
            "concurrency": 8,
            "timeout_s": 0.5,
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.5,
            "breaker_failures": 8,
            "breaker_open_s": 1.0,
            "max_wait_s": 5.0,
        }
        route = {"providers": ["fake"], "review_at": 0.5, "block_at": 0.9}
        proc, registry = await started(
            {"p1": project(route)}, {"providers": {"fake": provider}, "max_attempts": 4}
        )
        records = [record(enriched(i), offset=i) for i in range(N)]
        try:
            emits, dead, pauses = await drive(proc, records)
        finally:
            await proc.stop()

    verdict_ids = [e.key for e in emits]
    dead_ids = [d.record.value.request_id for d in dead]
    assert len(verdict_ids) == len(set(verdict_ids)), "a screenshot got two verdicts"
    assert not set(verdict_ids) & set(dead_ids), "a screenshot got a verdict and a dead letter"
    assert set(verdict_ids) | set(dead_ids) == {f"req-{i}" for i in range(N)}
    assert len(verdict_ids) + len(dead_ids) == N
    reasons = {d.record.value.request_id: d.reason for d in dead}
    assert {r for r, why in reasons.items() if why == "budget_exhausted"} == POISON
    assert {r for r, why in reasons.items() if why == "provider_rejected"} == REJECT
    for e in emits:
        assert isinstance(e.value, ModerationVerdict)
        (label,) = e.value.labels
        assert label.score == pytest.approx(score_of(e.key or ""))
        expected = Verdict.BLOCK if label.score >= 0.9 else None
        assert expected is None or e.value.verdict is expected

    # the script really misbehaved in every way
    assert fake.statuses.get(429, 0) >= 1
    assert fake.statuses.get(500, 0) >= 10
    assert fake.statuses.get(503, 0) >= 5
    assert fake.throttled_at, "no 429 burst happened"
    # the breaker opened during the outage and the batch came back after the pause
    assert any(reason == "breaker_open" for _, _, reason in pauses), pauses

    print(  # the figures, for `pytest -s`
        f"requests {len(fake.arrivals)}, statuses {fake.statuses}, "
        f"max in 1 s {fake.max_in_window(1.0)} (limit {RATE + BURST:.0f}), pauses {pauses}"
    )
    # quota: never more than rate + burst requests in any one-second window
    assert fake.max_in_window(1.0) <= RATE + BURST, fake.max_in_window(1.0)
    # Retry-After: 2 closes the provider: nothing reaches it for 2 s (0.1 s for requests
    # already on the wire when the 429 left)
    last_429 = max(fake.throttled_at)
    first_429 = min(fake.throttled_at)
    quiet = [t for t in fake.arrivals if first_429 + 0.1 < t < last_429 + 2.0]
    in_burst = [t for t in quiet if t <= last_429]
    assert quiet == in_burst, f"{len(quiet) - len(in_burst)} requests within 2 s of a 429"

    # the metrics saw it all
    def metric(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    assert (
        metric("shotline_moderation_throttled_seconds_total", provider="fake", cause="retry_after")
        >= 1.5
    )
    assert (
        metric("shotline_moderation_provider_calls_total", provider="fake", outcome="status_429")
        >= 1
    )
    assert (
        metric("shotline_moderation_provider_calls_total", provider="fake", outcome="timeout") >= 1
    )
    assert (
        metric("shotline_moderation_provider_calls_total", provider="fake", outcome="garbage") >= 1
    )
    assert metric("shotline_moderation_breaker_state", provider="fake") == 0  # closed again
    verdicts = sum(
        metric("shotline_moderation_verdicts_total", project="p1", provider="fake", verdict=v)
        for v in ("pass", "review", "block")
    )
    assert verdicts == len(verdict_ids)
