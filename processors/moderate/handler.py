"""The moderate processor: ``shotline.screenshots.enriched.v1`` → ``shotline.moderation.v1``
(key = requestId), one verdict per screenshot; at-least-once, idempotent on requestId.

Per record: no routing for its project → ``skipped/not_configured``; no object facts →
``skipped/no_object``; outside the project's ``sample`` → ``skipped/sampled_out``; another
screenshot of the channel within ``per_channel_interval_s`` → ``skipped/channel_interval``.
The rest go to the providers (``decide.Moderator``). A ``block`` verdict calls the
project's action webhook before it is published; a webhook that keeps failing dead-letters
the record (``webhook_failed``) instead. Refused images and spent budgets are dead-lettered
with their cause (``budget_exhausted``, ``provider_rejected``, ``missing_object``...) and
get no verdict.

A paused provider (breaker open, long Retry-After) makes ``handle`` raise the runner's
``Backpressure``: the batch is not committed and comes again later. What was already
decided is kept in a bounded in-memory cache keyed by requestId, so the batch handled
again neither calls a provider nor the webhook twice and publishes each verdict once.

The records of a batch skipped before the providers (``not_configured``, ``no_object``,
``sampled_out``) are answered from bytes to bytes by ``handle_bytes`` (the runner's
``BytesHandler``): the same verdicts, metrics and remembered outcomes as ``handle``, without
the per-record models. The records sampled in or decided already are left to ``handle``, and
so is a whole batch with a record the msgspec twin does not vouch for.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final

from processors.errors import Backpressure, FatalError, ProviderPaused, WebhookFailed
from processors.moderate.decide import Decided, Moderator, Outcome, Published, Refused, Skipped
from processors.moderate.guard import Guard
from processors.moderate.images import S3Images
from processors.moderate.logic import ChannelGate, sampled
from processors.moderate.observe import ModerationMetrics
from processors.moderate.providers.base import ImageRequest, ModerationProvider
from processors.moderate.providers.registry import build_provider
from processors.moderate.records import (
    dead_letter,
    image_request,
    skipped_json,
    skipped_verdict,
)
from processors.moderate.restore import VerdictLog
from processors.moderate.settings import ModerateSettings
from processors.moderate.webhook import ActionWebhooks, webhook_secrets
from processors.runner.base import BaseProcessor
from processors.runner.codec import Encoded, RawRecord
from processors.runner.contract import Batch, Context, DeadLetter, Emit, HandleResult, Record
from processors.runner.fastpath import BytesResult
from schemas import EnrichedScreenshot, ProjectConfig, Topics
from schemas.moderation import ActionWebhook, ModerationVerdict, ProjectModeration, Verdict
from schemas.wire import decode_enriched

__all__ = ["ModerateProcessor", "processor"]

_new_skipped = tuple.__new__  # Skipped(...) without NamedTuple's Python-level __new__
# Module constants for the per-record loop: an enum attribute lookup costs ~0.2 µs.
SKIPPED: Final = Verdict.SKIPPED.value
NOT_CONFIGURED: Final = "not_configured"
NO_OBJECT: Final = "no_object"
SAMPLED_OUT: Final = "sampled_out"
_Counted = tuple[str, str, str, str | None]  # project label, provider, verdict, skip reason


class ModerateProcessor(BaseProcessor[EnrichedScreenshot]):
    # The processor contract's declarations (runner.base.BaseProcessor), alike in each one.
    name = "moderate"
    input_model = EnrichedScreenshot
    exactly_once = False
    settings_model = ModerateSettings

    def __init__(self) -> None:
        self.settings = ModerateSettings()
        self._projects: dict[str, ProjectConfig] = {}
        self._output = ""
        self._guards: dict[str, Guard] = {}
        self._moderator = Moderator({})
        self._gate = ChannelGate()
        # requestId → outcome and the (partition, offset) of the record it was decided for
        self._decided: OrderedDict[str, tuple[Outcome, int, int]] = OrderedDict()
        self._pinned = 0  # outcomes a split batch's fast part decided: _trim keeps them
        self._webhooks: ActionWebhooks | None = None
        self._metrics: ModerationMetrics | None = None
        self._log: VerdictLog | None = None
        self._counters: dict[tuple[str, str, str, str | None], tuple[Any, Any]] = {}

    def input_topic(self, topics: Topics) -> str:
        return topics.enriched

    async def start(self, ctx: Context) -> None:
        try:
            self.settings = ModerateSettings.model_validate(dict(ctx.settings))
        except ValueError as exc:
            raise FatalError(f"moderate settings: {exc}") from exc
        self._projects = dict(ctx.projects)
        self._output = ctx.topics.moderation
        self._log = VerdictLog(ctx.kafka, ctx.topics.enriched, self._output)
        self._metrics = ModerationMetrics.create(ctx.registry)
        self._counters.clear()
        routes = [p.moderation for p in self._projects.values() if p.moderation is not None]
        used = {name for route in routes for name in route.providers}
        unknown = used - set(self.settings.providers)
        if unknown:
            raise FatalError(f"moderation routes name unknown providers: {sorted(unknown)}")
        images = S3Images()
        providers: list[ModerationProvider] = []
        try:
            for name in sorted(used):
                provider = build_provider(name, self.settings.providers[name], images)
                await provider.start()
                providers.append(provider)
            secrets = webhook_secrets(routes)
        except FatalError:
            raise
        except Exception as exc:  # a clear stop, not a traceback, for a misconfiguration
            raise FatalError(f"moderate: {exc}") from exc
        max_attempts = self.settings.max_attempts
        self._guards = {
            p.name: Guard(p, self.settings.providers[p.name], max_attempts, self._metrics)
            for p in providers
        }
        self._moderator = Moderator(self._guards)
        self._webhooks = ActionWebhooks(self._metrics, secrets)

    async def stop(self) -> None:
        for guard in self._guards.values():
            await guard.provider.close()
        if self._webhooks is not None:
            await self._webhooks.close()
        self._decided.clear()

    async def on_assign(self, partitions: set[int]) -> None:
        """Read back the partitions' recent verdicts (``restore``): their records, if they
        come again, are already done."""
        if self._log is None:
            return
        found = await self._log.published(partitions, self.settings.restore_window_s)
        for rid, partition in found.items():
            if rid not in self._decided:
                self._decided[rid] = (Published(), partition, -1)
        self._trim()

    def _triage(self, shot: EnrichedScreenshot) -> tuple[str, ProjectModeration | None]:
        """Why a screenshot is skipped (``""``: it is not) and its project's route."""
        project = self._projects.get(shot.project)
        route = project.moderation if project is not None else None
        if route is None:
            return "not_configured", None
        if shot.s3 is None:
            return "no_object", route
        if not sampled(shot.request_id, route.sample):
            return "sampled_out", route
        at_ms = int(shot.event_time.timestamp() * 1000)
        if not self._gate.admit(
            shot.project, shot.callback.channelName, at_ms, route.per_channel_interval_s
        ):
            return "channel_interval", route
        return "", route

    async def handle(self, batch: Batch[EnrichedScreenshot]) -> HandleResult:
        assert self._webhooks is not None, "start() first"
        work: list[tuple[ImageRequest, ProjectModeration]] = []
        fresh: dict[str, Outcome] = {}
        where: dict[str, tuple[int, int]] = {}
        for record in batch:
            shot = record.value
            if shot.request_id in fresh or self._known(shot.request_id, record):
                continue
            where[shot.request_id] = (record.partition, record.offset)
            skip, route = self._triage(shot)
            if skip:
                fresh[shot.request_id] = Skipped(shot.project, skip)
            else:
                assert route is not None
                work.append((image_request(shot, self._projects[shot.project]), route))
        try:
            fresh.update(await self._moderator.moderate(work))
        except ProviderPaused as exc:
            self._remember(fresh, where)  # skips stay decided: the channel gate saw them
            raise Backpressure(exc.retry_after_s, exc.reason) from exc
        await self._act(fresh)
        self._remember(fresh, where)
        return self._result(batch)

    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
        """``handle`` fused with the runner's decode and encode (``BytesHandler``) for the
        records of a batch skipped before the providers. It leaves to the regular path
        (``rest``) the records sampled in (the channel gate and a provider decide them) and
        those whose requestId was decided already (its cached outcome decides), with every
        copy of their requestIds in the batch. It declines the batch (``None``, nothing
        changed) when it has a record ``schemas.wire`` does not vouch for (the model decides
        it, or dead-letters it), or answers none of its records. The verdicts' bytes are
        ``skipped_json``'s, which are the model's JSON."""
        if self._metrics is None:  # not started
            return None
        self._pinned = 0  # a split batch before this one ended (or raised)
        projects, decided, topic = self._projects, self._decided, self._output
        fresh: dict[str, tuple[Skipped, int, int]] = {}
        counts: dict[tuple[str, str], int] = {}
        output: list[Encoded] = []
        rest: list[int] = []
        left: set[str] = set()  # requestIds left to the regular path
        for index, (raw, skipping) in enumerate(zip(raws, skip, strict=True)):
            if skipping:
                continue
            shot = decode_enriched(raw.value or b"")
            if shot is None:
                return None
            rid = shot.request_id
            if rid in fresh:  # the same screenshot again in this batch: one verdict
                continue
            if rid in decided or rid in left:
                rest.append(index)
                left.add(rid)
                continue
            project = shot.project
            config = projects.get(project)
            route = config.moderation if config is not None else None
            if route is None:
                reason = NOT_CONFIGURED
            elif shot.s3 is None:
                reason = NO_OBJECT
            elif not sampled(rid, route.sample):
                reason = SAMPLED_OUT
            else:
                rest.append(index)
                left.add(rid)
                continue
            partition = raw.partition
            fresh[rid] = (_new_skipped(Skipped, (project, reason)), partition, raw.offset)
            counted = (project if config is not None else "other", reason)  # as _label
            counts[counted] = counts.get(counted, 0) + 1
            value = skipped_json(rid, project, reason)
            output.append(Encoded(topic, partition, rid.encode(), value, list(raw.headers)))
        if rest and not fresh:
            return None  # all of it is the regular path's
        decided.update(fresh)  # as _remember: in the batch's order, none was known
        # a regular part's _remember must not evict what this part decided, as handle keeps
        # a whole batch's outcomes
        self._pinned = len(fresh) if rest else 0
        self._trim(len(fresh))

        def done() -> None:  # counted once the batch is answered, as handle counts
            self._pinned = 0
            for (label, reason), n in counts.items():
                self._add((label, "none", SKIPPED, reason), n)

        return BytesResult(output, rest=rest, done=done)

    async def _act(self, fresh: dict[str, Outcome]) -> None:
        """Deliver the action webhook of every fresh ``block`` (before it is published),
        all at once; a delivery that fails turns the outcome into a dead letter."""
        webhooks = self._webhooks
        assert webhooks is not None

        async def act(rid: str, verdict: ModerationVerdict, hook: ActionWebhook) -> None:
            try:
                await webhooks.deliver(verdict.project, hook, verdict)
            except WebhookFailed as exc:
                fresh[rid] = Refused(str(exc), "webhook_failed", hook.attempts)

        calls = []
        for rid, outcome in fresh.items():
            if not isinstance(outcome, Decided) or outcome.verdict.verdict is not Verdict.BLOCK:
                continue
            route = self._projects[outcome.verdict.project].moderation
            if route is not None and route.action_webhook is not None:
                calls.append(act(rid, outcome.verdict, route.action_webhook))
        await asyncio.gather(*calls)

    def _known(self, rid: str, record: Record[Any]) -> bool:
        """Whether ``rid`` was decided already: a verdict holds for any later copy of the
        screenshot (idempotent on requestId), a refusal only for the same record handled
        again, so a dead letter replayed after its cause was fixed is decided afresh."""
        cached = self._decided.get(rid)
        if cached is None:
            return False
        outcome, partition, offset = cached
        if isinstance(outcome, Refused) and (partition, offset) != (
            record.partition,
            record.offset,
        ):
            del self._decided[rid]
            return False
        return True

    def _remember(self, fresh: dict[str, Outcome], where: dict[str, tuple[int, int]]) -> None:
        for rid, outcome in fresh.items():
            self._decided[rid] = (outcome, *where[rid])
        self._trim(len(fresh))

    def _trim(self, keep: int = 0) -> None:
        """Drop the oldest outcomes beyond ``result_cache`` (never the ``keep`` newest, nor
        those the fast part of the batch being handled decided: ``_pinned``)."""
        while len(self._decided) > max(self.settings.result_cache, keep + self._pinned):
            self._decided.popitem(last=False)

    def _result(self, batch: Batch[EnrichedScreenshot]) -> HandleResult:
        assert self._metrics is not None
        emits: list[Emit] = []
        dead: list[DeadLetter] = []
        seen: set[str] = set()
        for record in batch:
            rid = record.value.request_id
            if rid in seen:  # the same screenshot twice in one batch: one outcome
                continue
            seen.add(rid)
            outcome = self._decided[rid][0]
            project = self._label(record.value.project)
            if isinstance(outcome, Published):  # its verdict is on the topic already
                continue
            if isinstance(outcome, Refused):
                dead.append(dead_letter(record, outcome))
                continue
            if isinstance(outcome, Skipped):
                v = skipped_verdict(rid, outcome.project, outcome.reason)
            else:
                v = outcome.verdict
            self._count(project, v)
            # the input's partition number: restore finds a partition's verdicts there
            emits.append(Emit(self._output, rid, v, record.partition, record.raw_headers))
        return HandleResult(emits=emits, dead=dead)

    def _count(self, project: str, v: ModerationVerdict) -> None:
        """Count a published verdict; the labelled children are looked up once per label
        set, not per record (``labels()`` costs a few µs a call)."""
        skipped = v.verdict is Verdict.SKIPPED
        self._add((project, v.provider or "none", v.verdict.value, v.reason if skipped else None))

    def _add(self, key: _Counted, n: int = 1) -> None:
        """Add ``n`` verdicts of ``key`` to ``verdicts`` (and ``sampled_out`` for a skip)."""
        assert self._metrics is not None
        project, skip = key[0], key[3]
        children = self._counters.get(key)
        if children is None:
            children = self._counters[key] = (
                self._metrics.verdicts.labels(*key[:3]),
                self._metrics.sampled_out.labels(project, skip or "unknown")
                if key[2] == Verdict.SKIPPED
                else None,
            )
        children[0].inc(n)
        if children[1] is not None:
            children[1].inc(n)

    def _label(self, project: str) -> str:
        return project if project in self._projects else "other"


processor = ModerateProcessor()
