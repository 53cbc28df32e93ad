"""The join of screenshots with S3 facts: every decision enrich makes, without any I/O.

* A screenshot (``decide``) whose event is already known is emitted at once (by the runner,
  in the batch's output). Otherwise it goes pending, due for a HeadObject ``event_wait_s``
  after it was received (at once for a project without an event source).
* An event (``on_events``) is remembered; a screenshot pending on its object is settled
  with it. Whichever side arrives second emits.
* ``due`` hands out the pending screenshots whose HeadObject may start now: per-project
  token bucket (``head_rate``) and a cap on calls in flight (``head_concurrency``); the
  rest wait in a per-project queue. ``after_head`` applies the outcome: found → emit;
  404 → retry with backoff until ``missing_after_s`` after the screenshot time, then dead
  letter ``missing_object``; denied → dead letter ``access_denied`` at once; transient →
  retry with backoff and jitter, dead letter ``head_failed`` only after
  ``transient_budget_s``.

Output decided outside ``handle`` goes to ``outbox``; the handler publishes it and then calls
``acked`` so those screenshots leave the checkpoint only once their output is durable.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from processors.enrich.logic import (
    Denied,
    Found,
    HeadOutcome,
    Missing,
    ObjectEvent,
    enriched,
    enriched_json,
    location,
)
from processors.enrich.metrics import EnrichMetrics
from processors.enrich.settings import EnrichSettings
from processors.enrich.state import EventIndex, Pending, PendingSet
from processors.pacing import TokenBucket, backoff_s
from processors.runner.codec import Encoded, Raw, dead_letter, encode
from processors.runner.contract import Emit, Record
from schemas import ProjectConfig, S3ObjectFacts, ScreenshotRecord
from schemas.wire import WireS3Facts

__all__ = ["Join"]

Clock = Callable[[], float]


class Join:
    def __init__(
        self,
        settings: EnrichSettings,
        projects: Mapping[str, ProjectConfig],
        metrics: EnrichMetrics,
        output_topic: str,
        dlq_topic: str,
        clock: Clock,
        wall: Clock,
    ) -> None:
        self.settings = settings
        self.projects = projects
        self.metrics = metrics
        self.output_topic = output_topic
        self.dlq_topic = dlq_topic
        self.clock = clock
        self.wall = wall
        self.index = EventIndex(settings.event_ttl_s, settings.max_events)
        self.pending = PendingSet()
        self.outbox: list[tuple[Pending | None, Encoded]] = []
        self.warm = False
        self.in_flight = 0
        self._ready: dict[str, deque[Pending]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._rng = random.Random()
        self._enriched: dict[tuple[str, str], Any] = {}

    def label(self, project: str) -> str:
        return project if project in self.projects else "other"

    def count_enriched(self, project: str, source: str) -> None:
        """One screenshot published enriched (``source``: event, head or none)."""
        counter = self._enriched.get((project, source))
        if counter is None:  # one labels() lookup per project and source, not per record
            labels = (self.label(project), source)
            counter = self._enriched[(project, source)] = self.metrics.enriched.labels(*labels)
        counter.inc()

    def _emit(self, record: Record[ScreenshotRecord], facts: S3ObjectFacts | None) -> Emit:
        self.count_enriched(record.value.project, facts.source if facts is not None else "none")
        return Emit(
            self.output_topic,
            record.value.request_id,
            enriched(record.value, facts),
            headers=record.raw_headers,
        )

    def _event_output(self, record: Record[ScreenshotRecord], facts: WireS3Facts | None) -> Encoded:
        """``encode(self._emit(record, facts))`` without building the enriched model: the
        screenshot's JSON with the facts' appended (``logic.enriched_json``)."""
        value = record.value
        self.count_enriched(value.project, "event")
        data = enriched_json(value.__pydantic_serializer__.to_json(value), facts)
        key = value.request_id.encode("utf-8")
        return Encoded(self.output_topic, None, key, data, list(record.raw_headers))

    def decide(self, record: Record[ScreenshotRecord]) -> Emit | None:
        """The output for ``record`` now, or None when it went pending."""
        value = record.value
        self.pending.handled(record.partition, record.offset)
        config = self.projects.get(value.project)
        where = location(value, config)
        if where is None:
            self.metrics.no_bucket.labels(self.label(value.project)).inc()
            return self._emit(record, None)
        facts = self.index.get(where)
        if facts is not None:
            return self._emit(record, facts)
        wait = 0.0
        if self.settings.expects_events(value.project):
            wait = max(
                0.0, value.received_at.timestamp() + self.settings.event_wait_s - self.wall()
            )
        missing_at = value.event_time.timestamp() + self.settings.missing_after_s
        self.pending.add(Pending(record, value.project, where, self.clock() + wait, missing_at))
        return None

    def on_events(self, events: Sequence[ObjectEvent]) -> None:
        now = self.clock()
        created = 0
        for event in events:
            if event.removed:
                self.index.forget((event.bucket, event.key))
            if not event.created:
                continue
            created += 1
            where = (event.bucket, event.key)
            if not self.index.add(where, event, now):
                continue
            waiting = self.pending.waiting_for(where)
            if waiting:  # facts are built only for a join, not per event
                facts = self.index.facts(where)
                for item in waiting:
                    self._settle(item, self._event_output(item.record, facts))
        self.metrics.events.labels("created").inc(created)
        self.metrics.events.labels("other").inc(len(events) - created)

    def _settle(self, item: Pending, output: Encoded) -> None:
        self.pending.settle(item)
        self.outbox.append((item, output))

    def _dead(self, item: Pending, reason: str, error: str, retriable: bool) -> None:
        rec = item.record
        value = rec.value
        raw = Raw(
            rec.topic,
            rec.partition,
            rec.offset,
            rec.key.encode() if rec.key is not None else None,
            value.__pydantic_serializer__.to_json(value),
            rec.timestamp_ms,
            rec.raw_headers,
        )
        first = datetime.fromtimestamp(item.transient_since or self.wall(), UTC)
        kind = {"missing_object": "MissingObject", "access_denied": "AccessDenied"}
        out = dead_letter(
            "enrich",
            raw,
            error,
            kind.get(reason, "HeadFailed"),
            max(1, item.attempts),
            retriable,
            first,
            self.dlq_topic,
            reason=reason,
        )
        self.metrics.dead.labels(reason).inc()
        self._settle(item, out)

    def due(self) -> list[Pending]:
        """Pending screenshots whose HeadObject starts now (marked in flight)."""
        now = self.clock()
        for item in self.pending.due(now):
            if not self.warm and item.attempts == 0 and self.settings.expects_events(item.project):
                self.pending.schedule(item, now + 1.0)  # its event may be in the read-back
                continue
            self._ready.setdefault(item.project, deque()).append(item)
        launch: list[Pending] = []
        cap = self.settings.head_concurrency
        for project, queue in self._ready.items():
            bucket = self._buckets.get(project)
            if bucket is None:
                rate = self.settings.head_rate
                bucket = self._buckets[project] = TokenBucket(rate, rate, now)
            while queue and self.in_flight < cap:
                if queue[0].done:
                    queue.popleft()
                    continue
                if bucket.take(now) > 0:
                    break
                item = queue.popleft()
                item.in_flight = True
                self.in_flight += 1
                launch.append(item)
        return launch

    def after_head(self, item: Pending, outcome: HeadOutcome) -> None:
        item.in_flight = False
        self.in_flight -= 1
        kind = type(outcome).__name__.lower()
        self.metrics.heads.labels(self.label(item.project), kind).inc()
        if item.done:  # settled by its event meanwhile, or its partition was revoked
            return
        if isinstance(outcome, Found):
            self._settle(item, encode(self._emit(item.record, outcome.facts)))
            return
        if isinstance(outcome, Denied):
            self._dead(item, "access_denied", f"HeadObject denied: {outcome.error}", False)
            return
        item.attempts += 1
        now, wall = self.clock(), self.wall()
        s = self.settings
        delay = backoff_s(item.attempts, s.retry_initial_s, s.retry_max_s, self._rng, "equal")
        if isinstance(outcome, Missing):
            if wall >= item.deadline_missing:
                self.metrics.missing.labels(self.label(item.project)).inc()
                bucket, key = item.where
                error = (
                    f"s3://{bucket}/{key} not found {s.missing_after_s:g} s after the screenshot"
                )
                self._dead(item, "missing_object", error, False)
                return
            delay = min(delay, max(0.05, item.deadline_missing - wall + 0.01))
        else:
            item.transient_since = item.transient_since or wall
            if wall - item.transient_since >= s.transient_budget_s:
                self._dead(item, "head_failed", f"HeadObject kept failing: {outcome.error}", True)
                return
        self.pending.schedule(item, now + delay)

    def take_outbox(self) -> list[tuple[Pending | None, Encoded]]:
        out, self.outbox = self.outbox, []
        return out

    def acked(self, sent: Sequence[tuple[Pending | None, Encoded]]) -> None:
        for item, _ in sent:
            if item is not None:
                self.pending.forget(item)
