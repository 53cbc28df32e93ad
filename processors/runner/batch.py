"""One partition batch, from bytes to what must be published: decode, handle, dead letters.

Pure of Kafka: the engine feeds ``RawRecord``s and publishes the ``Encoded`` result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from processors.runner.codec import Encoded, RawRecord, dead_letter, decode, encode
from processors.runner.contract import KeyFilter, Processor, Record
from processors.runner.metrics import RunnerMetrics
from processors.runner.retry import handle_with_retries
from processors.runner.settings import RunnerSettings

__all__ = ["BatchOutcome", "process_batch"]


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
) -> BatchOutcome:
    """Everything to publish for ``raws`` (one partition, offset order), DLQ records last."""
    started = datetime.now(UTC)
    by_offset = {raw.offset: raw for raw in raws}
    valid: list[Record[Any]] = []
    dlq: list[Encoded] = []
    reasons: dict[str, int] = {}
    skip = (
        processor.skip_keys(raws[0].partition, [raw.key for raw in raws])
        if isinstance(processor, KeyFilter) and raws
        else [False] * len(raws)
    )
    skipped = 0
    for raw, skipping in zip(raws, skip, strict=True):
        if skipping:
            skipped += 1
            continue
        decoded = decode(processor.input_model, raw)
        if isinstance(decoded, str):
            dlq.append(
                dead_letter(
                    processor.name, raw, decoded, "ValidationError", 1, False, started, dlq_topic
                )
            )
            reasons["invalid"] = reasons.get("invalid", 0) + 1
        else:
            valid.append(decoded)
    result = await handle_with_retries(processor, valid, settings, metrics)
    for dead in result.dead:
        raw = by_offset[dead.record.offset]
        reason = "retries_exhausted" if dead.retriable else "rejected"
        error_type = "RetriesExhausted" if dead.retriable else "Rejected"
        dlq.append(
            dead_letter(
                processor.name,
                raw,
                dead.error,
                error_type,
                dead.attempts,
                dead.retriable,
                started,
                dlq_topic,
            )
        )
        reasons[reason] = reasons.get(reason, 0) + 1
    output = [encode(emit) for emit in result.emits]
    handled = skipped + len(valid) - len(result.dead)
    return BatchOutcome(
        output=output + dlq, handled=handled, emitted=len(output), dead_by_reason=reasons
    )
