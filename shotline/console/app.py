"""The console's ASGI application: routes, sessions, CSRF, and the live queue.

Every route answers only within a session, except ``/healthz`` and the sign-in form
(``/login``): without one, pages redirect to ``/login`` and everything else (``/api/``,
``/fragment/``, ``/thumb/``, ``/static/``, ``/asyncapi.json``) answers 401 JSON. Every
``POST`` must come from the console's own origin (an ``Origin`` header naming another is
refused) and carry the session's CSRF token (``X-CSRF-Token`` header or ``csrf_token``
field); the sign-in form carries a token of its own (double-submit cookie). A reviewer sees
and decides only the projects listed for them; anything else is ``404 not_found``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

from schemas import KafkaSettings, ProjectConfig
from schemas.decision import ReviewDecision
from shotline.console import pages
from shotline.console.auth import LoginLimiter, Passwords, Session, Sessions
from shotline.console.decide import Decider, DecisionRefused
from shotline.console.feed import DecisionLog, Feed
from shotline.console.http import (
    BodyTooLarge,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    html,
    json_error,
    json_response,
    read_request,
    redirect,
)
from shotline.console.metrics import ConsoleMetrics
from shotline.console.queue import Filters, Item, ReviewQueue
from shotline.console.settings import ConsoleSettings
from shotline.console.status import StatusPanel
from shotline.console.thumbs import ThumbnailMissing, Thumbnails

__all__ = ["COOKIE", "ConsoleApp", "build_app"]

log = logging.getLogger("shotline.console")

COOKIE = "shotline_console"
PRE_COOKIE = "shotline_console_login"  # the sign-in form's double-submit token
_STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
_API_PREFIXES = ("/api/", "/fragment/", "/thumb/", "/static/", "/asyncapi.json")


@dataclass
class _Ctx:
    request: Request
    session: Session | None
    set_cookie: str | None = None


class ConsoleApp:
    def __init__(
        self,
        settings: ConsoleSettings,
        kafka: KafkaSettings,
        projects: dict[str, ProjectConfig],
        metrics: ConsoleMetrics | None = None,
    ) -> None:
        from datetime import timedelta

        from prometheus_client import CollectorRegistry

        from processors.moderate.observe import ModerationMetrics
        from processors.moderate.webhook import ActionWebhooks, webhook_secrets

        self.settings = settings
        self.metrics = metrics or ConsoleMetrics.create(CollectorRegistry())
        self.queue = ReviewQueue(timedelta(hours=settings.window_h), settings.index_max)
        self.feed = Feed(kafka, self.queue)
        self.metrics.queue_items.set_function(lambda: len(self.queue))
        self.decisions = DecisionLog(kafka)
        routes = [p.moderation for p in projects.values() if p.moderation is not None]
        self.webhooks = ActionWebhooks(
            ModerationMetrics.create(self.metrics.registry), webhook_secrets(routes)
        )
        self.decider = Decider(self.queue, self.decisions, projects, self.webhooks, self.metrics)
        self.sessions = Sessions(settings.session_ttl_s)
        self.passwords = Passwords(settings.reviewers)
        self.limiter = LoginLimiter(settings.login_attempts, settings.login_window_s)
        self.thumbs = Thumbnails(projects, settings.presign_expiry_s)
        self.status = StatusPanel(settings.status_targets)
        self._kafka = kafka
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._asyncapi: dict[str, Any] | None = None

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
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.error("console: could not start: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

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
        if request.method == "POST" and not self._same_origin(request):
            await json_error(403, "cross_origin", "POST from another origin").send(send)
            return
        if request.path == "/login":
            await (await self._login(request)).send(send)
            return
        ctx = self._session(request)
        if ctx.session is None:
            await self._unauthenticated(request).send(send)
            return
        if request.path == "/api/events" and request.method == "GET":
            await self._events(ctx.session, request, receive, send)
            return
        if request.method == "POST" and not ctx.session.csrf_ok(
            request.headers.get("x-csrf-token") or request.form().get("csrf_token")
        ):
            await json_error(403, "csrf", "missing or wrong CSRF token").send(send)
            return
        response = await self._route(ctx)
        if ctx.set_cookie:
            response.headers.append(("set-cookie", ctx.set_cookie))
        await response.send(send)

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-site request; the tokens still apply
        host = request.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    def _cookie(self, name: str, value: str, max_age: int | None = None) -> str:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if self.settings.cookie_secure:
            parts.append("Secure")
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        return "; ".join(parts)

    def _session(self, request: Request) -> _Ctx:
        token = request.cookies.get(COOKIE)
        session = self.sessions.get(token)
        if self.settings.auth != "proxy":
            return _Ctx(request, session)
        name = request.headers.get(self.settings.proxy_header.lower())
        reviewer = self.settings.reviewers.get(name or "")
        if request.client not in self.settings.proxy_trusted_ips or reviewer is None:
            return _Ctx(request, None)
        if session is not None and secrets.compare_digest(session.reviewer, name or ""):
            return _Ctx(request, session)
        token, session = self.sessions.create(name or "", frozenset(reviewer.projects))
        return _Ctx(request, session, self._cookie(COOKIE, token))

    def _unauthenticated(self, request: Request) -> Response:
        if request.path.startswith(_API_PREFIXES) or request.method != "GET":
            return json_error(401, "unauthenticated", "sign in first: /login")
        return redirect("/login", 303)

    async def _login(self, request: Request) -> Response:
        if self.settings.auth == "proxy":
            return json_error(404, "not_found", "sign-in is done by the SSO proxy")
        if request.method == "GET":
            pre = secrets.token_urlsafe(24)
            page = html(pages.login_page(pre), csp=pages.LOGIN_CSP)
            page.headers.append(("set-cookie", self._cookie(PRE_COOKIE, pre)))
            return page
        if request.method != "POST":
            return json_error(405, "method_not_allowed", "GET or POST")
        form = request.form()
        name, password = form.get("name", ""), form.get("password", "")
        pre_cookie, pre_field = request.cookies.get(PRE_COOKIE, ""), form.get("login_token", "")
        if not pre_cookie or not secrets.compare_digest(pre_cookie, pre_field):
            return json_error(403, "csrf", "the sign-in form's token is missing or wrong")
        wait = self.limiter.retry_after(request.client, name)
        if wait > 0:
            self.metrics.logins.labels("limited").inc()
            page = html(
                pages.login_page(pre_cookie, "Too many failed attempts; try again later.", name),
                429,
                csp=pages.LOGIN_CSP,
            )
            page.headers.append(("retry-after", str(int(wait) + 1)))
            return page
        ok = await asyncio.to_thread(self.passwords.check, name, password)
        if not ok:
            self.limiter.failed(request.client, name)
            self.metrics.logins.labels("failed").inc()
            return html(
                pages.login_page(pre_cookie, "Wrong name or password.", name),
                401,
                csp=pages.LOGIN_CSP,
            )
        self.metrics.logins.labels("ok").inc()
        log.info("console: %s signed in", name)
        token, _ = self.sessions.create(name, frozenset(self.settings.reviewers[name].projects))
        answer = redirect("/", 303)
        answer.headers.append(("set-cookie", self._cookie(COOKIE, token)))
        answer.headers.append(("set-cookie", self._cookie(PRE_COOKIE, "", max_age=0)))
        return answer

    async def _route(self, ctx: _Ctx) -> Response:
        request, session = ctx.request, ctx.session
        assert session is not None
        path, method = request.path, request.method
        if method == "POST":
            if path == "/api/decisions":
                return await self._decide(request, session)
            if path == "/logout":
                self.sessions.end(request.cookies.get(COOKIE))
                answer = redirect("/login", 303)
                answer.headers.append(("set-cookie", self._cookie(COOKIE, "", max_age=0)))
                return answer
            return json_error(404, "not_found", f"no route POST {path}")
        if method != "GET":
            return json_error(405, "method_not_allowed", "GET or POST")
        if path == "/":
            return await self._queue_page(request, session)
        if path == "/fragment/queue":
            items, total = self._pending(request, session)
            return html(pages.queue_list(items, total, session.csrf))
        if path == "/fragment/status":
            return html(pages.status_panel(await self.status.rows()))
        if path == "/api/queue":
            items, total = self._pending(request, session)
            return json_response({"total": total, "items": [_item_json(i) for i in items]})
        if path == "/api/me":
            me = {"reviewer": session.reviewer, "projects": sorted(session.projects)}
            return json_response(me)
        if path.startswith("/thumb/"):
            return await self._thumb(path.removeprefix("/thumb/"), session)
        if path.startswith("/history/") or path.startswith("/api/history/"):
            return self._history(path.rsplit("/", 1)[-1], session, path.startswith("/api/"))
        if path.startswith("/static/"):
            return _static(path.removeprefix("/static/"))
        if path in ("/asyncapi", "/asyncapi.json"):
            return self._asyncapi_answer(path, session)
        return json_error(404, "not_found", f"no route GET {path}")

    # -- pages and API ----------------------------------------------------------------------
    def _filters(self, request: Request) -> Filters:
        q = request.query
        try:
            hours = float(q["hours"]) if q.get("hours") else None
        except ValueError:
            hours = None
        if hours is not None and hours <= 0:
            hours = None
        return Filters(q.get("project", ""), q.get("channel", ""), q.get("verdict", ""), hours)

    def _pending(self, request: Request, session: Session) -> tuple[list[Item], int]:
        return self.queue.pending(session.projects, self._filters(request))

    async def _queue_page(self, request: Request, session: Session) -> Response:
        filters = self._filters(request)
        version = self.queue.version  # the page is as of this version: its events start here
        items, total = self.queue.pending(session.projects, filters)
        listing = pages.queue_list(items, total, session.csrf)
        status = pages.status_panel(await self.status.rows())
        page = pages.queue_page(
            session.reviewer,
            session.csrf,
            sorted(session.projects),
            filters,
            listing,
            status,
            version,
        )
        return html(page)

    async def _decide(self, request: Request, session: Session) -> Response:
        form = request.form()
        rid = form.get("request_id", "")
        try:
            decision = await self.decider.decide(
                session, rid, form.get("action", ""), form.get("note", "")
            )
        except DecisionRefused as exc:
            return json_error(exc.status, exc.code, exc.detail)
        if not request.wants_json and "application/json" not in request.headers.get(
            "content-type", ""
        ):
            return redirect("/", 303)  # a plain form post, without the page's script
        return json_response({"decision": decision.model_dump(mode="json")})

    async def _thumb(self, rid: str, session: Session) -> Response:
        from urllib.parse import unquote

        item = self.queue.item(unquote(rid))
        if item is None or item.project not in session.projects:
            return json_error(404, "not_found", "no flagged screenshot with this requestId")
        facts = item.facts
        if facts is None or facts.bucket is None or facts.key is None:
            return json_error(404, "no_object", "the screenshot's object is not known")
        try:
            if self.settings.thumbnails == "presigned":
                return redirect(self.thumbs.presigned(item.project, facts.bucket, facts.key), 302)
            body, kind = await self.thumbs.fetch(item.project, facts.bucket, facts.key)
        except ThumbnailMissing as exc:
            return json_error(502, "store_failed", f"the bucket did not give the image: {exc}")
        if not kind.startswith("image/"):
            kind = "application/octet-stream"
        return Response(200, body, kind, [("cache-control", "private, max-age=300")])

    def _history(self, rid: str, session: Session, as_json: bool) -> Response:
        from urllib.parse import unquote

        rid = unquote(rid)
        item = self.queue.item(rid)
        if item is None or item.project not in session.projects:
            return json_error(404, "not_found", "no flagged screenshot with this requestId")
        verdicts, decisions = self.queue.history(rid)
        if as_json:
            return json_response(
                {
                    "request_id": rid,
                    "project": item.project,
                    "verdicts": [
                        {"published_at": at.isoformat(), **v.model_dump(mode="json")}
                        for at, v in verdicts
                    ],
                    "decisions": [d.model_dump(mode="json") for d in decisions],
                }
            )
        return html(pages.history_page(session.reviewer, session.csrf, item, verdicts, decisions))

    def _asyncapi_answer(self, path: str, session: Session) -> Response:
        if self._asyncapi is None:
            from shotline.dev.asyncapi import document

            self._asyncapi = document(self._kafka.topics, self._kafka.bootstrap)
        doc = self._asyncapi
        if path.endswith(".json"):
            return json_response(doc)
        ops = doc.get("operations", {})
        rows = [
            (channel.get("address", ""), title, channel.get("description", ""))
            for title, channel in doc.get("channels", {}).items()
        ]
        del ops
        return html(pages.asyncapi_page(session.reviewer, session.csrf, sorted(rows)))

    async def _events(
        self, session: Session, request: Request, receive: Receive, send: Send
    ) -> None:
        """Server-Sent Events: ``changed`` with the queue's version whenever it changes (the
        page then fetches its list again); a comment every 15 s keeps proxies from closing.
        Ends when the browser goes, the session ends or the console stops."""
        token = request.cookies.get(COOKIE)
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:  # the version the page was rendered at: no event for what it shows already
            version = int(request.query.get("since", "-1"))
        except ValueError:
            version = -1
        try:
            while not gone.is_set() and not self._closing.is_set():
                if self.settings.auth != "proxy" and self.sessions.get(token) is not session:
                    break
                now = await self.queue.wait_changed(version, 15.0)
                if gone.is_set():
                    break
                chunk = f"event: changed\ndata: {now}\n\n" if now != version else ": keepalive\n\n"
                version = now
                await send(
                    {"type": "http.response.body", "body": chunk.encode(), "more_body": True}
                )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


def _item_json(item: Item) -> dict[str, Any]:
    facts = item.facts
    return {
        "request_id": item.request_id,
        "project": item.project,
        "verdict": item.verdict.model_dump(mode="json"),
        "published_at": item.at.isoformat(),
        "channel": facts.channel if facts else None,
        "user": facts.user if facts else None,
        "taken_at": facts.taken_at.isoformat() if facts else None,
        "thumbnail": f"/thumb/{item.request_id}" if facts and facts.key else None,
    }


def _static(name: str) -> Response:
    if name not in _STATIC:
        return json_error(404, "not_found", f"no static file {name!r}")
    body = resources.files("shotline.console").joinpath("static", name).read_bytes()
    return Response(200, body, _STATIC[name], [("cache-control", "private, max-age=300")])


def build_app(
    settings: ConsoleSettings, kafka: KafkaSettings, projects: dict[str, ProjectConfig]
) -> ConsoleApp:
    return ConsoleApp(settings, kafka, projects)


def decision_json(decision: ReviewDecision) -> bytes:
    return orjson.dumps(decision.model_dump(mode="json"))
