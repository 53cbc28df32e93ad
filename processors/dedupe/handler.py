"""The dedupe processor: ``shotline.callbacks.v1`` → ``shotline.screenshots.v1``, once each.

Duplicates are recognised on the Kafka key (= requestId, as ingest publishes it) before
the runner decodes them (``skip_keys``); a record whose key is not its requestId is
dead-lettered.

Exactly once: the runner commits each input partition's output and offsets in one Kafka
transaction. The first record of a requestId within the window is normalised and published
to the SAME partition number it came from (key = requestId); later ones are dropped. The
seen-set is rebuilt on assignment from that output partition (``store.OutputLog``), so it
survives restarts, ``kill -9`` and rebalances without a store of its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from pydantic_core import to_json

from processors.dedupe.logic import normalise, record_fields
from processors.dedupe.seen import SeenSet, digest
from processors.dedupe.settings import DedupeSettings
from processors.dedupe.store import OutputLog
from processors.runner.codec import Encoded, RawRecord, describe_invalid, encode_headers
from processors.runner.contract import Batch, Context, DeadLetter, Emit, HandleResult
from processors.runner.fastpath import BytesResult
from schemas import CallbackEnvelope, Topics

__all__ = ["DedupeProcessor", "processor"]


_validate_envelope = CallbackEnvelope.__pydantic_validator__.validate_json


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class DedupeProcessor:
    name = "dedupe"
    input_model = CallbackEnvelope
    exactly_once = True

    def __init__(self) -> None:
        self._settings = DedupeSettings()
        self._seen = SeenSet(1, 1, 1)
        self._log: OutputLog | None = None
        self._output = ""
        self._metrics: dict[str, Any] = {}

    def input_topic(self, topics: Topics) -> str:
        return topics.callbacks

    async def start(self, ctx: Context) -> None:
        self._settings = DedupeSettings.model_validate(dict(ctx.settings))
        s = self._settings
        self._seen = SeenSet(round(s.window_s * 1000), s.buckets, s.max_ids)
        self._output = ctx.topics.screenshots
        self._log = OutputLog(ctx.kafka, self._output)
        await self._log.check_partitions(self.input_topic(ctx.topics))
        reg = ctx.registry
        self._metrics = {
            "duplicates": Counter(
                "shotline_dedupe_duplicates_total", "Duplicate callbacks dropped.", registry=reg
            ),
            "restored": Counter(
                "shotline_dedupe_restored_ids_total",
                "requestIds read back from the output topic on assignment.",
                registry=reg,
            ),
            "evicted": Gauge(
                "shotline_dedupe_evicted_ids",
                "requestIds forgotten early because the cap (max_ids) was reached.",
                registry=reg,
            ),
            "remembered": Gauge(
                "shotline_dedupe_remembered_ids", "requestIds in the seen-set.", registry=reg
            ),
        }

    async def stop(self) -> None:
        self._seen.drop(self._seen.partitions())

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
        if self._metrics:
            self._metrics["remembered"].set(self._seen.size)

    def skip_keys(self, partition: int, keys: Sequence[bytes | None]) -> list[bool]:
        """Duplicates by key (= requestId): already emitted by this partition, or repeated
        earlier in this batch. A repeat of a record that then fails validation is dropped
        with it; replaying the dead letter restores the id."""
        seen = self._seen
        in_batch: set[bytes] = set()
        flags: list[bool] = []
        for key in keys:
            if key is None:
                flags.append(False)
                continue
            key_digest = digest(key)
            flags.append(key_digest in in_batch or seen.contains(partition, key_digest))
            in_batch.add(key_digest)
        if self._metrics:
            self._metrics["duplicates"].inc(sum(flags))
        return flags

    async def handle(self, batch: Batch[CallbackEnvelope]) -> HandleResult:
        now = _now_ms()
        seen = self._seen
        seen.expire(now)
        fresh: dict[tuple[int, bytes], None] = {}  # committed to ``seen`` only at the end
        emits: list[Emit] = []
        dead: list[DeadLetter] = []
        duplicates = 0
        tolerance = self._settings.time_tolerance_ms
        output = self._output
        contains = seen.contains
        for record in batch:
            request_id = record.value.callback.requestId
            if record.key != request_id:
                # skip_keys trusts the Kafka key: a record keyed otherwise could be dropped
                # as another id's duplicate, so it is refused instead.
                dead.append(DeadLetter(record, f"key {record.key!r} is not the requestId"))
                continue
            partition = record.partition
            key = (partition, digest(request_id.encode("utf-8")))
            if key in fresh or contains(*key):
                duplicates += 1
                continue
            fresh[key] = None
            # positional: Emit(topic, key, value, partition, headers), 0.2 µs cheaper
            emits.append(
                Emit(
                    output,
                    request_id,
                    normalise(record.value, tolerance),
                    partition,
                    record.headers,
                )
            )
        self._remember(fresh, now, duplicates)
        return HandleResult(emits=emits, dead=dead)

    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult:
        """``handle`` fused with the runner's decode and encode (``BytesHandler``): each
        record goes from bytes to output bytes in one step, without the per-record
        ``Record``/``Emit`` plumbing. Same checks, in the same order, as ``handle``."""
        now = _now_ms()
        seen = self._seen
        seen.expire(now)
        fresh: dict[tuple[int, bytes], None] = {}
        result = BytesResult()
        output, invalid, rejected = result.output, result.invalid, result.rejected
        duplicates = 0
        tolerance = self._settings.time_tolerance_ms
        topic = self._output
        contains = seen.contains
        for raw, skipping in zip(raws, skip, strict=True):
            if skipping:
                continue
            try:
                envelope = _validate_envelope(raw.value or b"")
            except ValidationError as exc:
                invalid.append((raw, describe_invalid(CallbackEnvelope, exc)))
                continue
            request_id = envelope.callback.requestId
            raw_key = raw.key
            key_text = raw_key.decode("utf-8", "replace") if raw_key is not None else None
            if key_text != request_id:
                rejected.append((raw, f"key {key_text!r} is not the requestId"))
                continue
            partition = raw.partition
            id_bytes = request_id.encode("utf-8")
            key = (partition, digest(id_bytes))
            if key in fresh or contains(*key):
                duplicates += 1
                continue
            fresh[key] = None
            # the JSON of normalise()'s ScreenshotRecord without validating it again
            value = to_json(record_fields(envelope, tolerance))
            output.append(Encoded(topic, partition, id_bytes, value, encode_headers(raw)))
        self._remember(fresh, now, duplicates)
        return result

    def _remember(self, fresh: dict[tuple[int, bytes], None], now: int, duplicates: int) -> None:
        """Commit a handled batch's new ids to the seen-set, and count."""
        seen = self._seen
        for partition, key_digest in fresh:
            seen.add(partition, key_digest, now)
        if self._metrics:
            self._metrics["duplicates"].inc(duplicates)
            self._metrics["remembered"].set(seen.size)
            self._metrics["evicted"].set(seen.evicted)


processor = DedupeProcessor()
