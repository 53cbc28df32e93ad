"""The raw ASGI application: routing, the bounded body read, JSON answers.

No framework (FastAPI measured ~4x slower per request). Every answer, including 404 and 405
for unknown routes, is a JSON body. Order of checks on the callback route: project key
(404), source address (403), content type (415), size while reading (413), then parse (400),
schema and freshness (422), checksum (401), and only then publish or spool (200/503).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingest.asgi import Message, Receive, Scope, Send, serve_lifespan
from ingest.callbacks import Accepted, Rejection
from ingest.errors import IngestError, SpoolFullError
from ingest.openapi import openapi_document
from ingest.security import child_traceparent, is_json_content_type
from ingest.service import IngestService, Project
from ingest.workermetrics import WorkerMetrics

__all__ = ["PREFIX", "IngestApp", "Message", "Outcome", "Receive", "Scope", "Send"]

log = logging.getLogger("shotline.ingest.http")

Outcome = Accepted | Rejection

PREFIX = "/v1/callbacks/"  # the callback route, ``PREFIX + key``


class _TooLarge(IngestError):
    """Control flow of the body read: the body passed ``max_body_bytes`` (answer 413)."""


class _Disconnected(IngestError):
    """Control flow of the body read: the client went away (nothing to answer)."""


class IngestApp:
    """``app = IngestApp(service)``; run ``startup``/``shutdown`` (uvicorn's lifespan does)."""

    def __init__(
        self, service: IngestService, on_started: Callable[[], None] | None = None
    ) -> None:
        self.service = service
        self._on_started = on_started
        self._metrics = service.metrics
        self._workers: WorkerMetrics | None = None
        self._limit = service.settings.max_body_bytes
        self._ok = self._metrics.requests.labels(status="200", reason="ok")
        self._latency = self._metrics.request_latency
        self._openapi = orjson.dumps(openapi_document(service.settings.max_body_bytes))

    async def startup(self) -> None:
        await self.service.start()
        settings, slot = self.service.settings, self.service.slot
        if settings.workers > 1 and slot is not None:  # one scrape sums every worker
            self._workers = WorkerMetrics(
                self._metrics.registry, settings.spool_dir / "metrics", slot.index
            )
            await self._workers.start()
        if self._on_started is not None:
            self._on_started()

    async def shutdown(self) -> None:
        await self.service.stop()
        if self._workers is not None:
            await self._workers.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            try:
                if path.startswith(PREFIX):
                    await self._callback(scope, receive, send, path[len(PREFIX) :])
                else:
                    await self._other(scope, send, path)
            except Exception:
                # A bug must still answer JSON (Agora counts a non-JSON answer as a failure).
                log.exception(
                    "unexpected error on %s", "callback" if path.startswith(PREFIX) else path
                )
                with contextlib.suppress(Exception):  # the response may have started already
                    await _answer(send, 500, b'{"status":"error","error":"internal"}')
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _callback(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        start = time.perf_counter()
        if scope["method"] != "POST":
            await _answer(send, 405, b'{"status":"error","error":"method_not_allowed"}', allow=True)
            return
        client = scope.get("client")
        source = client[0] if client else None
        headers = dict(scope["headers"])
        project, refused = self.screen(key, headers, source)
        result: Outcome | None = refused
        body = b""
        if project is not None and result is None:
            try:
                body = await _read_body(receive, headers.get(b"content-length"), self._limit)
            except _TooLarge:
                result = Rejection(413, "too_large", f"body exceeds {self._limit} bytes")
            except _Disconnected:
                return
            else:
                result = self.judge(project, headers, body)
        assert result is not None
        status, answer = await self.conclude(result, project, body, source, start)
        await _answer(send, status, answer)

    def screen(
        self, key: str, headers: dict[bytes, bytes], source: str | None
    ) -> tuple[Project | None, Rejection | None]:
        """The checks before the body: project key (404), source address (403), content type
        (415). ``(project, None)`` when the body is to be read."""
        project = self.service.projects.get(key)
        if project is None:
            return None, Rejection(404, "unknown_project", "no such callback URL")
        if not project.allowlist.allows(source):
            return project, Rejection(403, "source_ip", "source address not allowed")
        if not is_json_content_type(headers.get(b"content-type")):
            return project, Rejection(415, "content_type", "Content-Type must be application/json")
        return project, None

    @staticmethod
    def judge(project: Project, headers: dict[bytes, bytes], body: bytes) -> Outcome:
        """Parse, validate and verify a body: 400, 422, 401 or the record to publish."""
        return project.verifier.verify(body, child_traceparent(headers.get(b"traceparent")))

    async def conclude(
        self,
        result: Outcome,
        project: Project | None,
        body: bytes,
        source: str | None,
        start: float,
    ) -> tuple[int, bytes]:
        """Publish (or spool) an accepted callback, or count and record a rejection; the
        answer's status and JSON body. Both HTTP paths (``__call__`` and ``ingest.lane``)
        end here, so they count and answer alike."""
        if type(result) is Accepted:
            status, answer = await self._accept(result)
        else:
            assert isinstance(result, Rejection)
            self._reject(result, project.key if project else None, body, source)
            status, answer = result.status, result.body()
        self._latency.observe(time.perf_counter() - start)
        return status, answer

    async def _accept(self, accepted: Accepted) -> tuple[int, bytes]:
        delivery = self.service.delivery
        if accepted.checksum_status == "mismatch":
            self._metrics.checksum_mismatch.labels(mode="log").inc()
        try:
            if delivery is None:
                raise IngestError("ingest is not started")
            via = await delivery.deliver(accepted.record)
        except SpoolFullError:
            self._count(503, "spool_full")
            return 503, b'{"status":"error","error":"spool_full","retry":true}'
        except IngestError as exc:
            log.error("callback not accepted: %s", exc)
            self._count(503, "unavailable")
            return 503, b'{"status":"error","error":"unavailable","retry":true}'
        self._ok.inc()
        if accepted.time_source != "timestamp":  # rare: docs/decisions/0008
            self._metrics.unreadable_timestamps.labels(time_source=accepted.time_source).inc()
        return 200, orjson.dumps({"status": "ok", "requestId": accepted.request_id, "via": via})

    def _count(self, status: int, reason: str) -> None:
        self._metrics.requests.labels(status=str(status), reason=reason).inc()

    def _reject(
        self, rejection: Rejection, project: str | None, body: bytes, ip: str | None
    ) -> None:
        self._count(rejection.status, rejection.reason)
        if rejection.status == 401:
            self._metrics.checksum_mismatch.labels(mode="enforce").inc()
        self.service.rejections.record(rejection, project, body, ip)

    async def _other(self, scope: Scope, send: Send, path: str) -> None:
        if path not in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            await _answer(send, 404, b'{"status":"error","error":"not_found"}')
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(
                send, 405, b'{"status":"error","error":"method_not_allowed"}', allow=False
            )
            return
        if path == "/healthz":
            await _answer(send, 200, b'{"status":"ok"}')
        elif path == "/readyz":
            ready = self.service.ready
            await _answer(send, 200 if ready else 503, orjson.dumps(self._readiness(ready)))
        elif path == "/metrics":
            data = (
                self._workers.exposition()
                if self._workers is not None
                else generate_latest(self._metrics.registry)
            )
            await _answer(send, 200, data, content_type=CONTENT_TYPE_LATEST.encode())
        else:
            await _answer(send, 200, self._openapi)

    def _readiness(self, ready: bool) -> dict[str, Any]:
        spool = self.service.spool
        delivery = self.service.delivery
        return {
            "status": "ok" if ready else "unavailable",
            "kafka": self.service.publisher.connected and not (delivery and delivery.degraded),
            "spool_writable": bool(spool and spool.writable),
            "spool_depth": spool.depth if spool else 0,
        }

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        def failed(exc: Exception) -> None:
            log.exception("ingest failed to start", exc_info=exc)

        await serve_lifespan(receive, send, self.startup, self.shutdown, failed)


async def _read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """Read the body, refusing as soon as it is known to exceed ``limit`` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise _TooLarge
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    *,
    content_type: bytes = b"application/json",
    allow: bool | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if allow is not None:
        headers.append((b"allow", b"POST" if allow else b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
