"""The dedupe processor: ``shotline.callbacks.v1`` → ``shotline.screenshots.v1``, once each.

Identity: the Kafka key, which ingest and the reconciler set to the screenshot's identity
(``schemas.identity.callback_key``: the object name when it has Agora's shape, else the
requestId). So a screenshot counts once whichever way it arrives: Agora's retries, a
reconciled copy, its late real callback, a second reconcile run. Duplicates are recognised
on that key before the runner decodes them (``skip_keys``). A record is accepted only if its
key is its identity, or its requestId (records published before keys were identities, or by
a producer that keys by requestId: deduplicated on the requestId alone); any other key is
dead-lettered, since a key the value does not vouch for could drop another screenshot.

Exactly once: the runner commits each input partition's output and offsets in one Kafka
transaction. The first record of a key within the window is normalised and published to the
SAME partition number it came from, with the same key; later ones are dropped. The seen-set
is rebuilt on assignment from that output partition's keys (``store.OutputLog``), so it
survives restarts, ``kill -9`` and rebalances without a store of its own.

Metrics are counted once per committed batch: duplicates are staged per partition while a
batch is handled and added to ``shotline_dedupe_duplicates_total{project}`` only in
``after_commit`` (the runner's ``CommitHook``), so an aborted and redone batch counts once.
``project`` is the ``shotline-project`` header when it names a configured project, else
``other`` (bounded).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError
from pydantic_core import to_json

from processors.dedupe.counts import StagedDuplicates
from processors.dedupe.logic import normalise, record_fields
from processors.dedupe.seen import SeenSet, digest
from processors.dedupe.settings import DedupeSettings
from processors.dedupe.store import OutputLog
from processors.runner.base import BaseProcessor
from processors.runner.codec import Encoded, RawRecord, describe_invalid
from processors.runner.contract import Batch, Context, DeadLetter, Emit, HandleResult
from processors.runner.fastpath import BytesResult
from schemas import AgoraCallback, CallbackEnvelope, Topics
from schemas.identity import keyed_by_object
from schemas.wire import WireCallback, decode_envelope, encode

__all__ = ["Decision", "DedupeProcessor", "Verdict", "processor"]


_validate_envelope = CallbackEnvelope.__pydantic_validator__.validate_json


class Decision(enum.Enum):
    """What dedupe decides for one record whose key it accepts."""

    EMIT = "emit"  # first within the window: normalised, published, its key remembered
    DUPLICATE = "duplicate"  # already emitted (an earlier batch or this one): dropped, counted


Verdict = Decision | str
"""``_check``'s answer: a ``Decision``, or a ``str`` saying why the record is refused (it is
dead-lettered; its key does not vouch for its value)."""

# Module constants for the per-record loops: an enum attribute lookup costs ~0.2 µs.
EMIT: Final = Decision.EMIT
DUPLICATE: Final = Decision.DUPLICATE

_Fresh = dict[int, set[bytes]]
"""The digests a batch emitted so far, per partition (one, as the runner hands batches)."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class DedupeProcessor(BaseProcessor[CallbackEnvelope]):
    # The processor contract's declarations (runner.base.BaseProcessor), alike in each one.
    name = "dedupe"
    input_model = CallbackEnvelope
    exactly_once = True
    settings_model = DedupeSettings

    def __init__(self) -> None:
        self._settings = DedupeSettings()
        self._seen = SeenSet(1, 1, 1)
        self._log: OutputLog | None = None
        self._output = ""
        self._duplicates = StagedDuplicates()
        # skip_keys's keys and their digests, for the handle_bytes call that follows it
        self._digested: tuple[Sequence[bytes | None], list[bytes | None]] = ((), [])
        self._evicted_counted = 0
        self._metrics: dict[str, Any] = {}

    def input_topic(self, topics: Topics) -> str:
        return topics.callbacks

    @staticmethod
    def _new_metrics(reg: CollectorRegistry) -> dict[str, Any]:
        return {
            "duplicates": Counter(
                "shotline_dedupe_duplicates_total",
                "Duplicate callbacks dropped (counted when their batch committed).",
                ["project"],
                registry=reg,
            ),
            "restored": Counter(
                "shotline_dedupe_restored_ids_total",
                "requestIds read back from the output topic on assignment.",
                registry=reg,
            ),
            "evicted": Counter(
                "shotline_dedupe_evicted_ids_total",
                "requestIds forgotten early because the cap (max_ids) was reached.",
                registry=reg,
            ),
            "remembered": Gauge(
                "shotline_dedupe_remembered_ids", "requestIds in the seen-set.", registry=reg
            ),
        }

    async def start(self, ctx: Context) -> None:
        self._settings = DedupeSettings.model_validate(dict(ctx.settings))
        s = self._settings
        self._seen = SeenSet(round(s.window_s * 1000), s.buckets, s.max_ids)
        self._evicted_counted = 0
        self._output = ctx.topics.screenshots
        self._log = OutputLog(ctx.kafka, self._output)
        await self._log.check_partitions(self.input_topic(ctx.topics))
        self._metrics = self._new_metrics(ctx.registry)
        self._duplicates = StagedDuplicates(ctx.projects, self._metrics["duplicates"])

    async def stop(self) -> None:
        self._seen.drop(self._seen.partitions())
        self._duplicates.clear()

    async def on_assign(self, partitions: set[int]) -> None:
        assert self._log is not None, "start() first"
        self._seen.drop(partitions)
        since = _now_ms() - self._seen.window_ms - self._seen.bucket_ms
        seen = self._seen

        def remember(partition: int, key: bytes, at_ms: int) -> None:
            key_digest = digest(key)
            if not seen.contains(partition, key_digest):
                seen.add(partition, key_digest, at_ms)

        restored = await self._log.replay(partitions, since, remember)
        self._metrics["restored"].inc(restored)
        self._metrics["remembered"].set(seen.size)

    async def on_revoke(self, partitions: set[int]) -> None:
        self._seen.drop(partitions)
        self._duplicates.drop(partitions)
        if self._metrics:
            self._metrics["remembered"].set(self._seen.size)

    def skip_keys(self, partition: int, keys: Sequence[bytes | None]) -> list[bool]:
        """Duplicates by key (the identity): already emitted by this partition, or repeated
        earlier in this batch. A repeat of a record that then fails validation is dropped
        with it; replaying the dead letter restores the id. Starts the partition's batch:
        the flags are staged for ``after_commit``."""
        known = self._seen.members(partition)
        in_batch: set[bytes] = set()
        flags: list[bool] = []
        digests: list[bytes | None] = []
        for key in keys:
            if key is None:
                flags.append(False)
                digests.append(None)
                continue
            key_digest = digest(key)
            flags.append(key_digest in known or key_digest in in_batch)
            in_batch.add(key_digest)
            digests.append(key_digest)
        self._duplicates.begin(partition, flags)
        self._digested = (keys, digests)
        return flags

    def after_commit(self, partition: int, raws: Sequence[RawRecord], committed: bool) -> None:
        """Count the duplicates of a committed batch per project; forget an aborted one's."""
        self._duplicates.settle(partition, raws, committed)

    async def handle(self, batch: Batch[CallbackEnvelope]) -> HandleResult:
        now = self._begin()
        fresh: _Fresh = {}  # committed to ``seen`` only at the end
        duplicates: list[tuple[int, int]] = []
        emits: list[Emit] = []
        dead: list[DeadLetter] = []
        tolerance = self._settings.time_tolerance_ms
        output = self._output
        check = self._check
        for record in batch:
            partition = record.partition
            callback = record.value.callback
            verdict = check(partition, record.key, callback.object, callback.requestId, fresh)
            if verdict is EMIT:
                # positional: Emit(topic, key, value, partition, headers), 0.2 µs cheaper
                value = normalise(record.value, tolerance)
                emits.append(Emit(output, record.key, value, partition, record.raw_headers))
            elif verdict is DUPLICATE:
                duplicates.append((partition, record.offset))
            else:
                dead.append(DeadLetter(record, verdict))
        self._commit(fresh, duplicates, now)
        return HandleResult(emits=emits, dead=dead)

    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult:
        """``handle`` fused with the runner's decode and encode (``BytesHandler``): each
        record goes from bytes to output bytes in one step, without the per-record
        ``Record``/``Emit`` plumbing. The checks are ``handle``'s own (``_check``). Values
        are decoded by ``schemas.wire`` (msgspec) where it vouches for the pydantic model,
        else by the model."""
        now = self._begin()
        fresh: _Fresh = {}
        duplicates: list[tuple[int, int]] = []
        result = BytesResult()
        output, invalid, rejected = result.output, result.invalid, result.rejected
        tolerance = self._settings.time_tolerance_ms
        topic = self._output
        check = self._check
        keys, digests = self._digested
        self._digested = ((), [])
        if len(keys) != len(raws):  # not the batch skip_keys saw: digest afresh
            keys, digests = [None] * len(raws), [None] * len(raws)
        for raw, skipping, digested, key_digest in zip(raws, skip, keys, digests, strict=True):
            if skipping:
                continue
            data = raw.value or b""
            wire = decode_envelope(data)
            if wire is not None:  # the common case: schemas.wire vouches for the model
                envelope = wire.envelope
                callback: AgoraCallback | WireCallback = envelope.callback
                event_time: datetime | None = wire.event_time
                received_at, dumps = wire.received_at, encode
            else:  # the model decides: sender extras, unusual forms, invalid records
                try:
                    model = _validate_envelope(data)
                except ValidationError as exc:
                    invalid.append((raw, describe_invalid(CallbackEnvelope, exc)))
                    continue
                envelope, callback = model, model.callback
                # stated_time is None for 17 digits that are not a time: record_fields
                # then takes the object name's time or received_at
                received_at, event_time = model.received_at, model.callback.stated_time
                dumps = to_json
            request_id, object_name = callback.requestId, callback.object
            raw_key = raw.key
            key_text: str | None
            if raw_key is None:
                key_text, key_digest = None, None
            else:  # compared as text, as handle does
                key_text = raw_key.decode("utf-8", "replace")
                if digested is not raw_key:  # skip_keys digested another key here
                    key_digest = None
            partition = raw.partition
            verdict = check(partition, key_text, object_name, request_id, fresh, key_digest)
            if verdict is EMIT:
                # the JSON of normalise()'s ScreenshotRecord without validating it again
                fields = record_fields(
                    envelope.project,
                    received_at,
                    envelope.checksum_status,
                    callback,
                    event_time,
                    tolerance,
                    envelope.source,
                )
                value = dumps(fields)
                output.append(Encoded(topic, partition, raw_key, value, list(raw.headers)))
            elif verdict is DUPLICATE:
                duplicates.append((partition, raw.offset))
            else:
                rejected.append((raw, verdict))
        self._commit(fresh, duplicates, now)
        return result

    def _begin(self) -> int:
        now = _now_ms()
        self._seen.expire(now)
        return now

    def _check(
        self,
        partition: int,
        key: str | None,
        object_name: str,
        request_id: str,
        fresh: _Fresh,
        key_digest: bytes | None = None,
    ) -> Verdict:
        """The checks of both paths for one record, in offset order: ``EMIT`` (its key
        joins ``fresh``), ``DUPLICATE``, else why it is refused. ``key_digest``: the key's
        digest if already known."""
        if key is None or not (
            key == request_id or (key == object_name and keyed_by_object(object_name))
        ):
            # skip_keys trusts the Kafka key: a record keyed otherwise could be dropped as
            # another screenshot's duplicate, so it is refused instead.
            return f"key {key!r} is neither the object name nor the requestId"
        key_digest = key_digest or digest(key.encode("utf-8"))
        emitted = fresh.get(partition)
        if emitted is None:
            emitted = fresh[partition] = set()
        elif key_digest in emitted:
            return DUPLICATE
        if self._seen.contains(partition, key_digest):
            return DUPLICATE
        emitted.add(key_digest)
        return EMIT

    def _commit(self, fresh: _Fresh, duplicates: list[tuple[int, int]], now: int) -> None:
        """A handled batch (it returned): its new ids join the seen-set, its duplicates are
        staged for ``after_commit``."""
        seen = self._seen
        for partition, ids in fresh.items():
            seen.add_all(partition, ids, now)
        for partition, offset in duplicates:
            self._duplicates.add(partition, offset)
        if self._metrics:
            self._metrics["remembered"].set(seen.size)
            self._metrics["evicted"].inc(seen.evicted - self._evicted_counted)
        self._evicted_counted = seen.evicted


processor = DedupeProcessor()
