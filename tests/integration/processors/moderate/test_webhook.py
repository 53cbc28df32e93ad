"""The action webhook: called exactly once per blocked screenshot, with a signature a
receiver verifies, even when the batch is handled again after a pause (Backpressure); a
webhook that keeps failing dead-letters the screenshot."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from processors.errors import Backpressure
from processors.moderate.signing import SIGNATURE_HEADER, verify
from schemas.moderation import Verdict
from tests.integration.processors.moderate.fakeprovider import (
    FakeProvider,
    Script,
    read_body,
    score_of,
    serving,
)
from tests.unit.processors.moderate.shots import enriched, project, record, started

SECRET = "hook-secret-for-tests"


class Receiver:
    """An app server's webhook endpoint: verifies and remembers every call."""

    def __init__(self, fail_first: int = 0, status: int = 200) -> None:
        self.calls: list[tuple[str, bytes, bool]] = []
        self.fail_first = fail_first
        self.status = status

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        ok = verify(SECRET.encode(), body, headers[SIGNATURE_HEADER.lower()])
        self.calls.append((headers["idempotency-key"], body, ok))
        status = 503 if len(self.calls) <= self.fail_first else self.status
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _run(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    monkeypatch.setenv("SHOTLINE_TEST_HOOK_SECRET", SECRET)
    ids = [i for i in range(60) if score_of(f"req-{i}") >= 0.9][:3]
    ids += [i for i in range(60) if score_of(f"req-{i}") < 0.5][:3]
    async with serving(FakeProvider(Script())) as provider_url, serving(receiver) as hook_url:
        route = {
            "providers": ["fake"],
            "block_at": 0.9,
            "action_webhook": {
                "url": hook_url,
                "secret_env": "SHOTLINE_TEST_HOOK_SECRET",
                "attempts": 3,
            },
        }
        settings = {"providers": {"fake": {"kind": "http", "url": provider_url}}}
        proc, _ = await started({"p1": project(route)}, settings)
        proc._webhooks.wait_initial_s = 0.01  # keep the retries quick
        batch = [record(enriched(i), offset=n) for n, i in enumerate(ids)]
        try:
            first = await proc.handle(batch)
            again = await proc.handle(batch)  # the same batch redelivered
        finally:
            await proc.stop()
    assert [e.key for e in again.emits] == [e.key for e in first.emits]
    return first, [f"req-{i}" for i in ids[:3]]


async def test_webhook_called_exactly_once_per_block_with_a_valid_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = Receiver(fail_first=1)  # one 503 first: retried, still one delivery
    result, blocked = await _run(receiver, monkeypatch)
    delivered = [key for key, _, ok in receiver.calls[1:]]
    assert sorted(delivered) == sorted(blocked)
    assert all(ok for _, _, ok in receiver.calls)
    for key, body, _ in receiver.calls:
        verdict = orjson.loads(body)
        assert verdict["request_id"] == key
        assert verdict["verdict"] == Verdict.BLOCK.value
    assert len(result.emits) == 6
    assert not result.dead


async def test_webhook_that_keeps_failing_dead_letters_the_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = Receiver(status=500)
    result, blocked = await _run(receiver, monkeypatch)
    assert sorted(d.record.value.request_id for d in result.dead) == sorted(blocked)
    assert {d.reason for d in result.dead} == {"webhook_failed"}
    assert len(result.emits) == 3
    assert len(receiver.calls) == 3 * 3  # three attempts each, none repeated on redelivery


async def test_paused_provider_raises_backpressure_and_keeps_decided_skips() -> None:
    route = {"providers": ["fake"], "sample": 0.5}
    settings = {
        "providers": {
            "fake": {
                "kind": "http",
                "url": "http://127.0.0.1:9/nothing-listens",
                "breaker_failures": 1,
                "breaker_open_s": 3,
                "backoff_initial_s": 0.01,
            }
        }
    }
    proc, _ = await started({"p1": project(route)}, settings)
    batch = [record(enriched(i), offset=i) for i in range(20)]
    try:
        with pytest.raises(Backpressure) as paused:
            await proc.handle(batch)
    finally:
        await proc.stop()
    assert paused.value.reason == "breaker_open"
    assert 0 < paused.value.retry_after_s <= 3
