"""Dedupe counts each screenshot object once, whichever way it arrives: Agora's callback
(keyed by its object), a reconciled copy (another requestId, same object), the late real
callback after reconciliation, or a second reconcile run — on both dedupe paths."""

from __future__ import annotations

import orjson

from processors.runner.codec import Raw
from schemas import CallbackEnvelope
from tests.callbacks_factory import envelope
from tests.unit.processors.dedupe.test_fastpath import Regular, comparable, dedupe, run


def reconciled(i: int) -> CallbackEnvelope:
    """What ``shotline reconcile`` publishes for screenshot i: its own requestId."""
    real = envelope(i)
    callback = real.callback.model_copy(update={"requestId": f"reconciler-{i}"})
    return real.model_copy(update={"callback": callback, "source": "reconciler"})


def raws(items: list[tuple[bytes | None, CallbackEnvelope]], first_offset: int) -> list[Raw]:
    headers = [("shotline-project", b"p1")]
    return [
        Raw("in", 0, first_offset + n, key, env.model_dump_json().encode(), 0, headers)
        for n, (key, env) in enumerate(items)
    ]


def key_of(i: int) -> bytes:
    return envelope(i).callback.object.encode()


async def test_a_screenshot_counts_once_across_callback_reconciler_and_late_callback() -> None:
    fast_proc, regular_proc = dedupe(), dedupe()
    batches = [
        # screenshot 1 arrives normally; 2's callback is lost and reconciled instead
        raws([(key_of(1), envelope(1)), (key_of(2), reconciled(2))], 0),
        # a second reconcile run, then 2's real callback arrives late, twice, and 1 is
        # reconciled by a run that raced its callback
        raws(
            [
                (key_of(2), reconciled(2)),
                (key_of(2), envelope(2)),
                (key_of(2), envelope(2)),
                (key_of(1), reconciled(1)),
            ],
            2,
        ),
    ]
    emitted = []
    for batch in batches:
        fast = await run(fast_proc, batch)
        regular = await run(Regular(regular_proc), batch)
        assert comparable(fast) == comparable(regular)
        emitted += fast.output[: fast.emitted]
    assert [(r.key, orjson.loads(r.value)["source"]) for r in emitted] == [
        (key_of(1), "agora"),
        (key_of(2), "reconciler"),
    ]
    assert orjson.loads(emitted[1].value)["request_id"] == "reconciler-2"


async def test_records_keyed_by_request_id_are_still_deduplicated_on_it() -> None:
    # published before keys were identities (or by a producer keying by requestId)
    outcome = await run(dedupe(), raws([(b"req-3", envelope(3)), (b"req-3", envelope(3))], 0))
    assert [r.key for r in outcome.output[: outcome.emitted]] == [b"req-3"]
    assert outcome.dead_by_reason == {}


async def test_a_name_that_is_not_agora_shaped_is_no_identity_and_is_refused_as_a_key() -> None:
    env = envelope(4)
    odd = env.model_copy(update={"callback": env.callback.model_copy(update={"object": "x.jpg"})})
    outcome = await run(dedupe(), raws([(b"x.jpg", odd)], 0))
    assert outcome.emitted == 0
    assert outcome.dead_by_reason == {"rejected": 1}
