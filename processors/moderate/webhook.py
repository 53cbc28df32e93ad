"""The action webhook: ``POST`` the ``block`` verdict to the project's ``action_webhook``.

Body: the verdict JSON. Headers: ``Idempotency-Key: <requestId>`` and
``X-Shotline-Signature: t=<unix>,sha256=<hex>`` (``signing``). Retried with exponential
backoff and jitter (stamina) on transport errors, timeouts, 429 and 5xx, ``attempts``
times; other statuses and exhausted attempts raise ``WebhookFailed`` (dead letter
``webhook_failed``). httpx errors never leave this module.
"""

from __future__ import annotations

import os

import httpx
import stamina

from processors.errors import FatalError, ModerationError, WebhookFailed
from processors.moderate.observe import ModerationMetrics
from processors.moderate.signing import SIGNATURE_HEADER, sign
from schemas.moderation import ActionWebhook, ModerationVerdict, ProjectModeration

__all__ = ["ActionWebhooks", "webhook_secrets"]


class _Transient(ModerationError):
    """A retriable webhook answer (transport error, timeout, 429, 5xx): stamina retries it."""


class ActionWebhooks:
    def __init__(self, metrics: ModerationMetrics, secrets: dict[str, bytes]) -> None:
        self._metrics = metrics
        self._secrets = secrets  # by environment variable name, read at start
        self._client = httpx.AsyncClient()
        self.wait_initial_s = 0.2
        self.wait_max_s = 5.0

    async def close(self) -> None:
        await self._client.aclose()

    async def deliver(self, project: str, hook: ActionWebhook, verdict: ModerationVerdict) -> None:
        """The ``block`` call: the verdict as the body, ``Idempotency-Key: <requestId>``."""
        await self.send(project, hook, verdict.request_id, verdict.model_dump_json().encode())

    async def send(self, project: str, hook: ActionWebhook, key: str, body: bytes) -> None:
        """POST ``body`` signed, with ``Idempotency-Key: <key>``, retried as above; the
        console's ``unblock`` goes through here too."""
        secret = self._secrets[hook.secret_env]
        counter = self._metrics.webhook_calls
        try:
            async for attempt in stamina.retry_context(
                on=_Transient,
                attempts=hook.attempts,
                timeout=None,
                wait_initial=self.wait_initial_s,
                wait_max=self.wait_max_s,
            ):
                with attempt:
                    await self._post(hook, key, body, secret)
        except _Transient as exc:
            counter.labels(project, "failed").inc()
            raise WebhookFailed(f"action webhook: {hook.attempts} attempts, last: {exc}") from exc
        except WebhookFailed:
            counter.labels(project, "failed").inc()
            raise
        counter.labels(project, "ok").inc()

    async def _post(self, hook: ActionWebhook, request_id: str, body: bytes, secret: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request_id,
            SIGNATURE_HEADER: sign(secret, body),  # signed per attempt: a fresh timestamp
        }
        try:
            response = await self._client.post(
                hook.url, content=body, headers=headers, timeout=hook.timeout_s
            )
        except httpx.HTTPError as exc:
            raise _Transient(repr(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise WebhookFailed(f"action webhook answered HTTP {response.status_code}")


def webhook_secrets(routes: list[ProjectModeration]) -> dict[str, bytes]:
    """The HMAC secret of every route's webhook, by variable name; ``FatalError`` if unset."""
    secrets: dict[str, bytes] = {}
    for route in routes:
        hook = route.action_webhook
        if hook is None:
            continue
        value = os.environ.get(hook.secret_env)
        if not value:
            raise FatalError(f"action webhook secret: environment variable {hook.secret_env} unset")
        secrets[hook.secret_env] = value.encode()
    return secrets
