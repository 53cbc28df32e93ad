"""Asking a project's providers about a batch of screenshots (``Moderator.moderate``).

Rounds: in mode ``first`` each round asks every undecided screenshot's next provider, and
a provider that refused or ran out of attempts passes the screenshot to the next one; in
mode ``worst`` one round asks all of them and every one must answer. Within a round the
screenshots for one provider are cut into chunks of its ``batch_size`` (the local model
classifies a chunk in one run) and all chunks run at once, their guards enforcing the quota.
A ``ProviderPaused`` from any chunk is raised after the round settles, so the handler can
pause the partitions; nothing is decided for that batch then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from processors.errors import BudgetExhausted, ProviderPaused, ProviderRejected
from processors.moderate.guard import Guard
from processors.moderate.logic import verdict_for, worst
from processors.moderate.providers.base import ImageRequest, ProviderAnswer
from schemas.moderation import ModerationVerdict, ProjectModeration, Verdict

__all__ = ["Decided", "Moderator", "Outcome", "Published", "Refused", "Skipped"]


# Outcomes as frozen dataclasses, alike in shape to enrich's HeadObject outcomes: plain data.
@dataclass(frozen=True, slots=True)
class Decided:
    verdict: ModerationVerdict


@dataclass(frozen=True, slots=True)
class Refused:
    error: str
    reason: str  # dead-letter reason: budget_exhausted, provider_rejected, missing_object...
    attempts: int


@dataclass(frozen=True, slots=True)
class Published:
    """Its verdict is already on the output topic (read back on assignment)."""


class Skipped(NamedTuple):
    """Skipped before any provider looked (``reason``: ``not_configured``, ``no_object``,
    ``sampled_out``, ``channel_interval``): the verdict is built from it when published
    (``records.skipped_verdict``, ``records.skipped_json``). A tuple, not a dataclass: the
    fast path keeps one per record and builds it with ``tuple.__new__``."""

    project: str
    reason: str


Outcome = Decided | Refused | Published | Skipped
_Answer = tuple[ProviderAnswer, float] | Refused  # answer and latency (ms), or why not


@dataclass(slots=True)
class _Pending:
    item: ImageRequest
    route: ProjectModeration
    answers: dict[str, tuple[ProviderAnswer, float]]
    next_index: int = 0


class Moderator:
    def __init__(self, guards: dict[str, Guard]) -> None:
        self.guards = guards

    async def moderate(
        self, work: Sequence[tuple[ImageRequest, ProjectModeration]]
    ) -> dict[str, Outcome]:
        """An outcome per request id; raises ``ProviderPaused`` when a provider is paused."""
        pending = {item.request_id: _Pending(item, route, {}) for item, route in work}
        outcomes: dict[str, Outcome] = {}
        while pending:
            asks: dict[str, list[ImageRequest]] = {}
            for p in pending.values():
                names = p.route.providers
                chosen = (
                    names if p.route.mode == "worst" else names[p.next_index : p.next_index + 1]
                )
                for name in chosen:
                    asks.setdefault(name, []).append(p.item)
            answers = await self._round(asks)
            for rid, p in list(pending.items()):
                outcome = self._settle(p, answers)
                if outcome is not None:
                    outcomes[rid] = outcome
                    del pending[rid]
        return outcomes

    def _settle(self, p: _Pending, answers: dict[tuple[str, str], _Answer]) -> Outcome | None:
        rid, route = p.item.request_id, p.route
        if route.mode == "worst":
            answered: list[tuple[Verdict, str, ProviderAnswer, float]] = []
            for name in route.providers:
                got = answers[(name, rid)]
                if isinstance(got, Refused):
                    return got
                verdict = verdict_for(got[0].labels, route.review_at, route.block_at)
                answered.append((verdict, name, got[0], got[1]))
            top = worst(v[0] for v in answered)
            _, name, answer, latency = next(v for v in answered if v[0] is top)
            return Decided(self._verdict(p.item, name, answer, latency, top, None))
        name = route.providers[p.next_index]
        result = answers[(name, rid)]
        if not isinstance(result, Refused):
            answer, latency = result[0], result[1]
            verdict = verdict_for(answer.labels, route.review_at, route.block_at)
            reason = "fallback" if p.next_index > 0 else None
            return Decided(self._verdict(p.item, name, answer, latency, verdict, reason))
        p.next_index += 1
        return result if p.next_index >= len(route.providers) else None

    @staticmethod
    def _verdict(
        item: ImageRequest,
        provider: str,
        answer: ProviderAnswer,
        latency_ms: float,
        verdict: Verdict,
        reason: str | None,
    ) -> ModerationVerdict:
        return ModerationVerdict.model_validate(
            {
                "request_id": item.request_id,
                "project": item.project,
                "verdict": verdict,
                "reason": reason,
                "provider": provider,
                "model": answer.model,
                "labels": list(answer.labels),
                "latency_ms": round(latency_ms, 3),
                "image": answer.image,
            }
        )

    async def _round(self, asks: dict[str, list[ImageRequest]]) -> dict[tuple[str, str], _Answer]:
        chunks: list[tuple[str, list[ImageRequest]]] = []
        for name, items in asks.items():
            size = self.guards[name].provider.batch_size
            chunks.extend((name, items[i : i + size]) for i in range(0, len(items), size))
        results = await asyncio.gather(
            *(self._chunk(name, items) for name, items in chunks), return_exceptions=True
        )
        paused = [r for r in results if isinstance(r, ProviderPaused)]
        if paused:
            raise max(paused, key=lambda exc: exc.retry_after_s)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        merged: dict[tuple[str, str], _Answer] = {}
        for result in results:
            assert not isinstance(result, BaseException)
            merged.update(result)
        return merged

    async def _chunk(self, name: str, items: list[ImageRequest]) -> dict[tuple[str, str], _Answer]:
        guard = self.guards[name]
        started = time.perf_counter()
        try:
            answers = await guard.run(items)
        except BudgetExhausted as exc:
            refused = Refused(str(exc), "budget_exhausted", exc.attempts)
            return {(name, item.request_id): refused for item in items}
        except ProviderRejected as exc:
            refused = Refused(str(exc), exc.reason, 1)
            return {(name, item.request_id): refused for item in items}
        latency_ms = (time.perf_counter() - started) * 1000
        out: dict[tuple[str, str], _Answer] = {}
        for item, answer in zip(items, answers, strict=True):
            if isinstance(answer, ProviderRejected):
                out[(name, item.request_id)] = Refused(str(answer), answer.reason, 1)
            else:
                out[(name, item.request_id)] = (answer, latency_ms)
        return out
