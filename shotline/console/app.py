"""The console's ASGI application (raw ASGI, as ingest: no framework): wiring, lifecycle
and routing.

Every route answers only within a session, except ``/healthz`` and the sign-in form
(``/login``): without one, pages redirect to ``/login`` and everything else (``/api/``,
``/fragment/``, ``/thumb/``, ``/static/``, ``/asyncapi.json``) answers 401 JSON. Every
``POST`` must come from the console's own origin (an ``Origin`` header naming another is
refused) and carry the session's CSRF token (``X-CSRF-Token`` header or ``csrf_token``
field). Errors are JSON: ``{"error": code, "detail": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from ingest.asgi import serve_lifespan
from processors.moderate.observe import ModerationMetrics
from processors.moderate.webhook import ActionWebhooks, webhook_secrets
from schemas import KafkaSettings, ProjectConfig
from shotline.console.auth import Session
from shotline.console.decide import Decider
from shotline.console.events import stream_changes
from shotline.console.feed import DecisionLog, Feed
from shotline.console.http import (
    CSP,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    json_error,
    json_response,
    read_request,
)
from shotline.console.metrics import ConsoleMetrics
from shotline.console.queue import ReviewQueue
from shotline.console.settings import ConsoleSettings
from shotline.console.signin import Gate
from shotline.console.status import StatusPanel
from shotline.console.thumbs import Thumbnails
from shotline.console.views import Views
from shotline.errors import BodyTooLarge

__all__ = ["ConsoleApp"]

log = logging.getLogger("shotline.console")


class ConsoleApp:
    """``app = ConsoleApp(settings.console, settings.kafka, settings.projects)``; uvicorn
    runs its lifespan (the Kafka reader and the decisions producer)."""

    def __init__(
        self,
        settings: ConsoleSettings,
        kafka: KafkaSettings,
        projects: dict[str, ProjectConfig],
        metrics: ConsoleMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or ConsoleMetrics.create(CollectorRegistry())
        self.queue = ReviewQueue(timedelta(hours=settings.window_h), settings.index_max)
        self.metrics.queue_items.set_function(lambda: len(self.queue))
        self.feed = Feed(kafka, self.queue)
        self.decisions = DecisionLog(kafka)
        routes = [p.moderation for p in projects.values() if p.moderation is not None]
        self.webhooks = ActionWebhooks(
            ModerationMetrics.create(self.metrics.registry), webhook_secrets(routes)
        )
        decider = Decider(self.queue, self.decisions, projects, self.webhooks, self.metrics)
        self.gate = Gate(settings, self.metrics)

        def asyncapi() -> dict[str, Any]:
            from shotline.dev.asyncapi import document  # FastStream's schema code: on demand

            return document(kafka.topics, kafka.bootstrap)

        self.views = Views(
            self.queue,
            decider,
            Thumbnails(projects, settings.presign_expiry_s),
            StatusPanel(settings.status_targets),
            settings.thumbnails == "presigned",
            asyncapi,
        )
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._csp = CSP
        if settings.thumbnails == "presigned":  # the browser loads images from the stores
            stores = " ".join(sorted(_store_origins(projects)))
            self._csp = CSP.replace("img-src 'self'", f"img-src 'self' {stores}")

    # -- lifecycle --------------------------------------------------------------------------
    async def startup(self) -> None:
        await self.feed.start()
        await self.decisions.start()
        self._task = asyncio.create_task(self.feed.run(), name="console-feed")

    async def shutdown(self) -> None:
        self._closing.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.feed.stop()
        await self.decisions.stop()
        await self.webhooks.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        def failed(exc: Exception) -> None:
            log.error("console: could not start: %s", exc)

        await serve_lifespan(receive, send, self.startup, self.shutdown, failed)

    # -- requests ---------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = await read_request(scope, receive)
        except BodyTooLarge:
            await json_error(413, "too_large", "request body over 64 KiB").send(send)
            return
        if request.path == "/healthz":
            ready = self.feed.caught_up.is_set()
            await json_response({"status": "ok" if ready else "starting"}).send(send)
            return
        if request.method == "POST" and not _same_origin(request):
            await json_error(403, "cross_origin", "POST from another origin").send(send)
            return
        if request.path == "/login":
            await (await self.gate.login(request)).send(send)
            return
        caller = self.gate.caller(request)
        session = caller.session
        if session is None:
            await self.gate.stranger(request).send(send)
            return
        if request.path == "/api/events" and request.method == "GET":
            try:
                since = int(request.query.get("since", "-1"))
            except ValueError:
                since = -1

            def alive() -> bool:
                assert session is not None
                return self.gate.still_valid(request, session)

            await stream_changes(self.queue, since, alive, self._closing, receive, send)
            return
        token = request.headers.get("x-csrf-token") or request.form().get("csrf_token")
        if request.method == "POST" and not session.csrf_ok(token):
            await json_error(403, "csrf", "missing or wrong CSRF token").send(send)
            return
        response = await self._route(request, session)
        if caller.set_cookie:
            response.headers.append(("set-cookie", caller.set_cookie))
        if response.csp == CSP:
            response.csp = self._csp
        await response.send(send)

    async def _route(self, request: Request, session: Session) -> Response:
        path, method, views = request.path, request.method, self.views
        if method == "POST":
            if path == "/api/decisions":
                return await views.decide(request, session)
            if path == "/logout":
                return self.gate.logout(request)
            return json_error(404, "not_found", f"no route POST {path}")
        if method != "GET":
            return json_error(405, "method_not_allowed", "GET or POST")
        if path == "/":
            return await views.queue_page(request, session)
        if path == "/fragment/queue":
            return views.queue_fragment(request, session)
        if path == "/fragment/status":
            return await views.status_fragment()
        if path == "/api/queue":
            return views.queue_json(request, session)
        if path == "/api/me":
            return json_response(
                {"reviewer": session.reviewer, "projects": sorted(session.projects)}
            )
        # a requestId is opaque (it may hold "/"): taken from the raw, still-encoded path
        rid = request.raw_path.rsplit("/", 1)[-1]
        if path.startswith("/thumb/"):
            return await views.thumbnail(rid, session)
        if path.startswith(("/history/", "/api/history/")):
            return views.history(rid, session, path.startswith("/api/"))
        if path.startswith("/static/"):
            return views.static(path.removeprefix("/static/"))
        if path in ("/asyncapi", "/asyncapi.json"):
            return views.asyncapi(path.endswith(".json"), session)
        return json_error(404, "not_found", f"no route GET {path}")


def _same_origin(request: Request) -> bool:
    """No ``Origin`` (not a browser's cross-site request: the tokens still apply) or the
    console's own, as the browser reached it (a TLS proxy must pass ``Host`` on)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _store_origins(projects: dict[str, ProjectConfig]) -> set[str]:
    """Where presigned thumbnail URLs point: each project's S3 endpoint (and its
    subdomains for virtual-hosted buckets), or AWS S3."""
    origins = set()
    for config in projects.values():
        if config.s3_endpoint is None:
            origins.add("https://*.amazonaws.com")
            continue
        parts = urlsplit(config.s3_endpoint)
        origins.add(f"{parts.scheme}://{parts.netloc}")
        if config.s3_addressing_style != "path":
            origins.add(f"{parts.scheme}://*.{parts.netloc}")
    return origins
