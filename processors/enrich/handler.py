"""The enrich processor: ``shotline.screenshots.v1`` → ``shotline.screenshots.enriched.v1``.

At least once, idempotent on requestId (key = requestId; no side effect outside Kafka). The
runner consumes screenshots and commits each batch when ``handle`` returns; ``handle`` never
waits for S3 (``join.Join`` decides, the runner publishes what is ready). Alongside, this
processor runs four tasks of its own:

* the event feed (``events.EventFeed``): every partition of ``shotline.s3events.v1`` into the
  event index, settling screenshots that wait for them;
* the HeadObject loop: pending screenshots due for a HeadObject, through ``client.HeadClient``
  (thread pool, per-project token bucket, concurrency cap);
* the outbox flusher: output decided outside ``handle`` (event second, HeadObject answers,
  dead letters), published with an idempotent ``acks=all`` producer;
* checkpoints (``checkpoints.CheckpointLog``): each owned partition's pending offsets, so a
  restart or the next owner after a rebalance rebuilds them (``on_assign``).

The runner's fast path (``handle_bytes``: ``bytepath``) publishes from bytes what ``handle``
would publish at once.

Pending state is bounded (``max_pending``: ``handle`` waits up to a second for room, then
raises ``Backpressure``, so the engine pauses that partition and redelivers the batch) and
time-limited (``missing_after_s``, ``transient_budget_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from processors.enrich import bytepath
from processors.enrich.checkpoints import Checkpoint, CheckpointLog
from processors.enrich.client import HeadClient, ObjectHeads
from processors.enrich.events import EventFeed
from processors.enrich.join import Join
from processors.enrich.logic import HeadOutcome, Transient
from processors.enrich.metrics import EnrichMetrics
from processors.enrich.settings import EnrichSettings
from processors.enrich.state import Pending
from processors.errors import Backpressure, RetriableError
from processors.runner.base import BaseProcessor
from processors.runner.codec import Encoded, RawRecord, decode, encode
from processors.runner.contract import Batch, Context, Emit, HandleResult
from processors.runner.fastpath import BytesResult
from processors.runner.sink import AtLeastOnceSink
from schemas import ProjectConfig, ScreenshotRecord, Topics

__all__ = ["EnrichProcessor", "processor"]

log = logging.getLogger("shotline.processors")

HeadsFactory = Callable[[Mapping[str, ProjectConfig], EnrichSettings], ObjectHeads]
_TICK_S = 0.02
_ROOM_WAIT_S = 1.0  # a full pending set usually drains within a second; else Backpressure


def _heads(projects: Mapping[str, ProjectConfig], settings: EnrichSettings) -> ObjectHeads:
    return HeadClient(projects, settings.head_concurrency, settings.head_timeout_s)


class EnrichProcessor(BaseProcessor[ScreenshotRecord]):
    name = "enrich"
    input_model = ScreenshotRecord
    exactly_once = False
    settings_model = EnrichSettings

    def __init__(self, heads: HeadsFactory = _heads) -> None:
        self._make_heads = heads
        self._tasks: list[asyncio.Task[None]] = []
        self._heads_running: set[asyncio.Task[None]] = set()
        self._written: dict[int, Checkpoint] = {}
        self._restoring: set[int] = set()  # no checkpoint is written while a restore runs

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None:
        settings = self.settings = EnrichSettings.model_validate(dict(ctx.settings))
        self.metrics = EnrichMetrics.create(ctx.registry)
        topics = ctx.topics
        self.join = Join(
            settings,
            ctx.projects,
            self.metrics,
            topics.enriched,
            topics.dlq,
            time.monotonic,
            time.time,
        )
        self.heads = self._make_heads(ctx.projects, settings)
        self._sink = AtLeastOnceSink(ctx.kafka)
        await self._sink.start()
        self._log = CheckpointLog(ctx.kafka, topics.screenshots, ctx.group_id(self.name))
        await self._log.ensure_topic()
        invalid = self.metrics.events.labels("invalid")
        self._feed = EventFeed(ctx.kafka, topics.s3events, self.join.on_events, invalid.inc)
        since_ms = int((time.time() - settings.event_ttl_s) * 1000)
        loops: list[Coroutine[Any, Any, None]] = [
            self._feed.run(since_ms),
            self._forever(self._head_tick, _TICK_S),
            self._forever(self._flush, _TICK_S),
            self._forever(self._checkpoint_owned, settings.checkpoint_interval_s),
        ]
        self._tasks = [asyncio.create_task(loop) for loop in loops]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._heads_running]:
            task.cancel()
        for task in [*self._tasks, *self._heads_running]:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        with contextlib.suppress(RetriableError):
            await self._flush()
            await self._checkpoint(set(self.join.pending.high))
        await self._sink.stop()
        self.heads.close()

    async def _forever(self, step: Callable[[], Coroutine[Any, Any, None]], every_s: float) -> None:
        while True:
            try:
                await step()
            except RetriableError as exc:
                log.warning("enrich: %s (retrying)", exc)
                await asyncio.sleep(1.0)
            except Exception:  # a bug must not silently stop the loop
                log.exception("enrich: %s failed", getattr(step, "__name__", step))
                await asyncio.sleep(1.0)
            await asyncio.sleep(every_s)

    # -- the runner's side -------------------------------------------------------------

    async def handle(self, batch: Batch[ScreenshotRecord]) -> HandleResult:
        deadline = time.monotonic() + _ROOM_WAIT_S
        while len(self.join.pending) >= self.settings.max_pending:
            if time.monotonic() > deadline:  # the engine pauses this partition and redelivers
                raise Backpressure(2.0, "pending_full")
            await asyncio.sleep(0.05)  # HeadObject answers and events make room
        emits: list[Emit] = []
        for record in batch:
            emit = self.join.decide(record)
            if emit is not None:
                emits.append(emit)
        self.metrics.pending.set(len(self.join.pending))
        return HandleResult(emits=emits)

    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
        """``handle`` as bytes (``BytesHandler``, see ``bytepath``)."""
        return bytepath.handle_bytes(self.join, raws, skip)

    async def on_assign(self, partitions: set[int]) -> None:
        self._restoring |= partitions
        try:
            await self._restore(partitions)
        finally:
            self._restoring -= partitions
        await self._checkpoint(partitions)
        log.info("enrich: assigned %s, %d pending", sorted(partitions), len(self.join.pending))

    async def _restore(self, partitions: set[int]) -> None:
        latest = await self._log.latest()
        committed = await self._log.committed(partitions)
        ranges: dict[int, tuple[int, int]] = {}
        for p in partitions:
            self.join.pending.own(p, committed[p])
            found = latest.get(p)
            if found is not None and found.start(committed[p]) < committed[p]:
                ranges[p] = (found.start(committed[p]), committed[p])
        output: list[Encoded] = []
        async for p, raw in self._log.replay(ranges):
            if not latest[p].redo(raw.offset):  # type: ignore[attr-defined]
                continue
            record = decode(ScreenshotRecord, raw)  # type: ignore[arg-type]
            if isinstance(record, str):
                continue  # dead-lettered as invalid when it was first handled
            self.metrics.restored.inc()
            emit = self.join.decide(record)
            if emit is not None:
                output.append(encode(emit))
        for p in partitions:
            self.join.pending.high[p] = committed[p]
        if output:
            await self._sink.publish(output)  # durable before a checkpoint forgets them

    async def on_revoke(self, partitions: set[int]) -> None:
        with contextlib.suppress(RetriableError):  # the next owner redoes what is unwritten
            await self._flush()
            await self._checkpoint(partitions)
        for p in partitions:
            self.join.pending.drop(p)
            self._written.pop(p, None)

    # -- the processor's own tasks -----------------------------------------------------

    async def _head_tick(self) -> None:
        self.join.warm = self._feed.warm.is_set()
        self._launch()
        self.join.index.expire(time.monotonic())
        self.metrics.pending.set(len(self.join.pending))
        self.metrics.indexed.set(len(self.join.index))

    async def _head(self, item: Pending) -> None:
        bucket, key = item.where
        try:
            outcome: HeadOutcome = await self.heads.head(item.project, bucket, key)
        except Exception as exc:  # the adapter returns outcomes; anything else is transient
            outcome = Transient(f"{type(exc).__name__}: {exc}")
        self.join.after_head(item, outcome)
        self._launch()  # the freed slot serves the next due screenshot without waiting a tick

    def _launch(self) -> None:
        for item in self.join.due():
            task = asyncio.create_task(self._head(item))
            self._heads_running.add(task)
            task.add_done_callback(self._heads_running.discard)

    async def _flush(self) -> None:
        sent = self.join.take_outbox()
        if not sent:
            return
        try:
            await self._sink.publish([encoded for _, encoded in sent])
        except RetriableError:
            self.join.outbox[:0] = sent  # kept, in order, for the next try
            raise
        self.join.acked(sent)

    async def _checkpoint_owned(self) -> None:
        await self._checkpoint(set(self.join.pending.high) - self._restoring)

    async def _checkpoint(self, partitions: set[int]) -> None:
        out: list[Encoded] = []
        fresh: dict[int, Checkpoint] = {}
        for p in sorted(partitions):
            high, pending = self.join.pending.checkpoint(p)
            point = Checkpoint(high, tuple(pending))
            if self._written.get(p) != point:
                fresh[p] = point
                out.append(point.encode(self._log.topic, p))
        if out:
            await self._sink.publish(out)
            self._written.update(fresh)


processor = EnrichProcessor()
