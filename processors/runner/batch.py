"""One partition batch, from bytes to what must be published: decode, handle, dead letters.

Pure of Kafka: the engine feeds ``RawRecord``s and publishes the ``Encoded`` result. A
processor with the ``BytesHandler`` fast path handles the batch in one pass instead, or the
part of it the fast path answers, the regular path the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from processors.runner.codec import Encoded, RawRecord, dead_letter, decode, encode
from processors.runner.contract import Processor, Record, RunnerReason
from processors.runner.fastpath import BytesResult
from processors.runner.hooks import Hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.retry import handle_with_retries
from processors.runner.settings import RunnerSettings

__all__ = ["BatchOutcome", "count_committed", "process_batch", "report_commit"]

log = logging.getLogger("shotline.processors")


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    output: list[Encoded]
    handled: int  # records handled or skipped (not dead-lettered)
    emitted: int
    dead_by_reason: dict[str, int]


async def process_batch(
    processor: Processor[Any],
    raws: Sequence[RawRecord],
    dlq_topic: str,
    settings: RunnerSettings,
    metrics: RunnerMetrics,
    hooks: Hooks,
) -> BatchOutcome:
    """Everything to publish for ``raws`` (one partition, offset order), DLQ records last.
    ``hooks``: the processor's optional hooks (``hooks.find_hooks``, found once).

    ``handle`` sees the whole batch in one call (never split: processors may aggregate per
    call, as billing's tally does per project-second), or, when the processor's fast path
    answered part of it (``BytesResult.rest``), the part it left, in one call.
    """
    started = datetime.now(UTC)
    skip = (
        hooks.skip_keys(raws[0].partition, [raw.key for raw in raws])
        if hooks.skip_keys is not None and raws
        else [False] * len(raws)
    )
    if hooks.handle_bytes is not None:
        try:
            fast = hooks.handle_bytes(raws, skip)
        except Exception:  # the regular path retries, isolates or stops as it should
            log.exception("processor %s: fast path failed, taking the regular one", processor.name)
            fast = None
        if fast is not None and not fast.rest_is_sound(raws):
            log.error(
                "processor %s: fast path left an unsound rest, taking the regular path",
                processor.name,
            )
            fast = None
        if fast is not None:  # else declined (or failed): the regular path below
            answered = _fast_outcome(processor.name, raws, fast, started, dlq_topic)
            if fast.rest:  # the part left to the regular path; if it raises, not done
                left = [raws[i] for i in fast.rest], [skip[i] for i in fast.rest]
                regular = await _regular(processor, *left, dlq_topic, settings, metrics, started)
                answered = _joined(answered, regular)
            if fast.done is not None:
                fast.done()
            return answered
    return await _regular(processor, raws, skip, dlq_topic, settings, metrics, started)


def _fast_outcome(
    name: str, raws: Sequence[RawRecord], fast: BytesResult, started: datetime, dlq_topic: str
) -> BatchOutcome:
    """What the fast path answered, for the records it did not leave to the regular path."""
    dlq = [
        dead_letter(name, raw, error, kind, 1, False, started, dlq_topic, reason=reason)
        for kind, reason, dead in (
            ("ValidationError", "invalid", fast.invalid),
            ("Rejected", "rejected", fast.rejected),
        )
        for raw, error in dead
    ]
    counts: dict[RunnerReason, int] = {"invalid": len(fast.invalid), "rejected": len(fast.rejected)}
    return BatchOutcome(
        output=fast.output + dlq,
        handled=len(raws) - len(fast.rest) - len(dlq),
        emitted=len(fast.output),
        dead_by_reason={reason: n for reason, n in counts.items() if n},
    )


def _joined(fast: BatchOutcome, regular: BatchOutcome) -> BatchOutcome:
    """A batch answered in two parts: both parts' records, dead letters last."""
    fast_dlq, regular_dlq = fast.output[fast.emitted :], regular.output[regular.emitted :]
    reasons = dict(fast.dead_by_reason)
    for reason, n in regular.dead_by_reason.items():
        reasons[reason] = reasons.get(reason, 0) + n
    return BatchOutcome(
        output=[
            *fast.output[: fast.emitted],
            *regular.output[: regular.emitted],
            *fast_dlq,
            *regular_dlq,
        ],
        handled=fast.handled + regular.handled,
        emitted=fast.emitted + regular.emitted,
        dead_by_reason=reasons,
    )


async def _regular(
    processor: Processor[Any],
    raws: Sequence[RawRecord],
    skip: Sequence[bool],
    dlq_topic: str,
    settings: RunnerSettings,
    metrics: RunnerMetrics,
    started: datetime,
) -> BatchOutcome:
    """Decode → ``handle`` (one call, with retries) → encode, dead letters last."""
    dlq: list[Encoded] = []
    reasons: dict[str, int] = {}
    handled = 0
    valid: list[Record[Any]] = []
    model = processor.input_model
    for raw, skipping in zip(raws, skip, strict=True):
        if skipping:
            handled += 1
            continue
        decoded = decode(model, raw)
        if isinstance(decoded, str):
            dlq.append(
                dead_letter(
                    processor.name,
                    raw,
                    decoded,
                    "ValidationError",
                    1,
                    False,
                    started,
                    dlq_topic,
                    reason="invalid",
                )
            )
            reasons["invalid"] = reasons.get("invalid", 0) + 1
        else:
            valid.append(decoded)
    result = await handle_with_retries(processor, valid, settings, metrics)
    handled += len(valid) - len(result.dead)
    if result.dead:
        by_offset = {raw.offset: raw for raw in raws}
        for dead in result.dead:
            own: RunnerReason
            own, error_type = (
                ("unexpected", "Unexpected")
                if dead.unexpected
                else ("retries_exhausted", "RetriesExhausted")
                if dead.retriable
                else ("rejected", "Rejected")
            )
            reason = dead.reason or own
            dlq.append(
                dead_letter(
                    processor.name,
                    by_offset[dead.record.offset],
                    dead.error,
                    error_type,
                    dead.attempts,
                    dead.retriable,
                    started,
                    dlq_topic,
                    reason=reason,
                )
            )
            reasons[reason] = reasons.get(reason, 0) + 1
    output = [encode(emit) for emit in result.emits]
    emitted = len(output)
    output.extend(dlq)
    return BatchOutcome(output=output, handled=handled, emitted=emitted, dead_by_reason=reasons)


def report_commit(hooks: Hooks, partition: int, raws: Sequence[RawRecord], committed: bool) -> None:
    """Call the processor's ``after_commit`` hook, if it has one (``CommitHook``)."""
    if hooks.after_commit is not None:
        hooks.after_commit(partition, raws, committed)


def count_committed(
    metrics: RunnerMetrics, processor: str, outcome: BatchOutcome, begun: float
) -> None:
    """Count a committed batch (``begun``: its arrival, ``time.monotonic``)."""
    metrics.processed.labels(processor).inc(outcome.handled)
    metrics.emitted.labels(processor).inc(outcome.emitted)
    for reason, count in outcome.dead_by_reason.items():
        metrics.dead_lettered.labels(processor, reason).inc(count)
    metrics.batch_seconds.labels(processor).observe(time.monotonic() - begun)
