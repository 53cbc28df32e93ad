"""Deciding a flagged screenshot: checks, the ``unblock`` webhook, the record, the queue.

The project of a decision is the screenshot's own (from its verdict), never the request's;
a reviewer without that project gets the same ``not_found`` as for an unknown requestId.
Overturning a ``block`` of a project with an action webhook first delivers an ``unblock``
(moderation's webhook client: signed, retried, ``Idempotency-Key: <requestId>:unblock``);
the decision is published only once the webhook took it, so a failed call leaves the
screenshot in the queue to try again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from processors.errors import WebhookFailed
from processors.moderate.webhook import ActionWebhooks
from schemas import ProjectConfig
from schemas.decision import NOTE_MAX_CHARS, ReviewAction, ReviewDecision, UnblockStatus
from schemas.moderation import Verdict
from shotline.console.auth import Session
from shotline.console.feed import DecisionLog
from shotline.console.metrics import ConsoleMetrics
from shotline.console.queue import FLAGGED, Item, ReviewQueue
from shotline.errors import DecisionRefused, PublishFailed

__all__ = ["Decider", "unblock_body"]


def unblock_body(item: Item, decision: ReviewDecision) -> bytes:
    """What the action webhook receives when a block is overturned."""
    return orjson.dumps(
        {
            "action": "unblock",
            "request_id": decision.request_id,
            "project": decision.project,
            "reviewer": decision.reviewer,
            "note": decision.note,
            "decided_at": decision.decided_at.isoformat(),
            "verdict": item.verdict.model_dump(mode="json"),
        }
    )


class Decider:
    def __init__(
        self,
        queue: ReviewQueue,
        log: DecisionLog,
        projects: dict[str, ProjectConfig],
        webhooks: ActionWebhooks,
        metrics: ConsoleMetrics,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self._queue = queue
        self._log = log
        self._projects = projects
        self._webhooks = webhooks
        self._metrics = metrics
        self._busy: set[str] = set()

    async def decide(self, session: Session, rid: str, action: str, note: str) -> ReviewDecision:
        item = self._queue.item(rid)
        if item is None or item.project not in session.projects:
            raise DecisionRefused(404, "not_found", "no flagged screenshot with this requestId")
        try:
            chosen = ReviewAction(action)
        except ValueError:
            raise DecisionRefused(422, "invalid_action", "action is confirm or overturn") from None
        if len(note) > NOTE_MAX_CHARS:
            raise DecisionRefused(422, "note_too_long", f"at most {NOTE_MAX_CHARS} characters")
        if item.verdict.verdict not in FLAGGED:
            raise DecisionRefused(409, "not_flagged", "its latest verdict needs no review")
        if self._queue.decided(rid) is not None or rid in self._busy:
            raise DecisionRefused(409, "already_decided", "another decision was taken first")
        self._busy.add(rid)
        try:
            decision = ReviewDecision(
                request_id=rid,
                project=item.project,
                verdict=item.verdict.verdict,
                action=chosen,
                note=note,
                reviewer=session.reviewer,
                decided_at=datetime.now(UTC),
            )
            status = await self._unblock(item, decision)
            decision = decision.model_copy(update={"unblock": status})
            try:
                await self._log.publish(decision)
            except PublishFailed as exc:
                raise DecisionRefused(503, "kafka_unavailable", str(exc)) from exc
            self._queue.add_decision(decision)
        finally:
            self._busy.discard(rid)
        labels = (item.project, chosen.value, item.verdict.verdict.value)
        self._metrics.decisions.labels(*labels).inc()
        return decision

    async def _unblock(self, item: Item, decision: ReviewDecision) -> UnblockStatus:
        if decision.action is not ReviewAction.OVERTURN or decision.verdict is not Verdict.BLOCK:
            return "not_applicable"
        config = self._projects.get(item.project)
        route = config.moderation if config is not None else None
        if route is None or route.action_webhook is None:
            return "not_configured"
        body = unblock_body(item, decision)
        try:
            await self._webhooks.send(
                item.project, route.action_webhook, f"{decision.request_id}:unblock", body
            )
        except WebhookFailed as exc:
            raise DecisionRefused(502, "webhook_failed", f"unblock not delivered: {exc}") from exc
        return "sent"
