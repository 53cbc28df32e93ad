"""enrich's fast path (``runner.fastpath.BytesHandler``): from consumed screenshot bytes to
published enriched bytes, for the screenshots ``Join.decide`` would emit at once.

A screenshot whose object's event is already in the index, or that has nothing to look up
(``s3`` null: no bucket, or an object name that did not parse), is decoded by
``schemas.wire`` and its ``EnrichedScreenshot`` JSON written from the twin: no pydantic
validation, no ``model_construct`` of the facts or the record, no ``Record``/``Emit``. Every
other record takes ``Join.decide`` itself, with the model: one that must wait (it goes
pending, checkpointed as the regular path does), and one the twin does not vouch for (the
model decides; an invalid one is refused with the model's words). So the output, the dead
letters, the pending set and the metrics are those of ``EnrichProcessor.handle``;
``tests/unit/processors/enrich/test_bytepath.py`` compares the two paths batch by batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from processors.enrich.join import Join
from processors.enrich.logic import enriched_json, location
from processors.runner.codec import Encoded, RawRecord, decode, encode
from processors.runner.contract import Record
from processors.runner.fastpath import BytesResult
from schemas import ScreenshotRecord
from schemas.wire import WireS3Facts, WireScreenshot, decode_screenshot
from schemas.wire import encode as encode_wire

__all__ = ["handle_bytes"]


def _known(join: Join, shot: WireScreenshot) -> tuple[str, WireS3Facts | None] | None:
    """``(source, facts)`` of a screenshot ``Join.decide`` emits at once: nothing to look up
    (``"none"``, s3 null) or its event indexed (``"event"``); None when it must wait."""
    where = location(shot, join.projects.get(shot.project))
    if where is None:
        return "none", None
    facts = join.index.facts(where)
    return None if facts is None else ("event", facts)


# One record's step: ``Join.decide`` of the model, or (input, project, facts' source, output)
_Step = Record[ScreenshotRecord] | tuple[RawRecord, str, str, Encoded]


def handle_bytes(join: Join, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
    """``Join.decide`` over one partition's batch, as bytes (see the module's docstring);
    ``None`` when the pending set is full (the regular path's ``handle`` then waits for
    room or raises ``Backpressure``).

    Two passes: the first decodes and encodes every record and changes nothing, so if it
    fails the regular path starts from untouched state; the second does what ``decide``
    does to the join's state and metrics (or calls it), in offset order."""
    pending = join.pending
    if len(pending) >= join.settings.max_pending:
        return None
    result = BytesResult()
    output, invalid = result.output, result.invalid
    topic = join.output_topic
    steps: list[_Step] = []
    for raw, skipping in zip(raws, skip, strict=True):
        if skipping:  # enrich has no key filter; honoured all the same
            continue
        shot = decode_screenshot(raw.value or b"")
        known = _known(join, shot) if shot is not None else None
        if shot is None or known is None:
            # the model decides, or the record waits for its event or a HeadObject
            record = decode(ScreenshotRecord, raw)
            if isinstance(record, str):
                invalid.append((raw, record))
            else:
                steps.append(record)
            continue
        source, facts = known
        # what runner.codec.encode gives for Emit(topic, request_id, value, headers=raw's)
        value = enriched_json(encode_wire(shot), facts)
        key = shot.request_id.encode("utf-8")
        encoded = Encoded(topic, None, key, value, list(raw.headers))
        steps.append((raw, shot.project, source, encoded))
    handled = pending.handled
    for step in steps:
        if isinstance(step, Record):  # Join.decide, as the regular path calls it
            emit = join.decide(step)
            if emit is not None:
                output.append(encode(emit))
            continue
        raw, project, source, encoded = step
        handled(raw.partition, raw.offset)
        if source == "none":
            join.metrics.no_bucket.labels(join.label(project)).inc()
        join.count_enriched(project, source)
        output.append(encoded)
    if steps:  # as handle sets it (the runner calls handle only with valid records)
        join.metrics.pending.set(len(pending))
    return result
