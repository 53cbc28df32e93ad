"""What a signed-in reviewer asks for: the queue (page, fragment, JSON), a decision, a
thumbnail, a history, the AsyncAPI document and the static files. Each checks the
screenshot's project against the reviewer's; another project's screenshot is ``404``."""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import quote, unquote

from shotline.console import pages
from shotline.console.auth import Session
from shotline.console.decide import Decider
from shotline.console.http import Request, Response, html, json_error, json_response, redirect
from shotline.console.queue import Filters, Item, ReviewQueue
from shotline.console.status import StatusPanel
from shotline.console.thumbs import Thumbnails
from shotline.errors import DecisionRefused, ThumbnailMissing

__all__ = ["Views"]

_STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
_NOT_FOUND = "no flagged screenshot with this requestId"


def _filters(request: Request) -> Filters:
    q = request.query
    try:
        hours: float | None = float(q["hours"]) if q.get("hours") else None
    except ValueError:
        hours = None
    if hours is not None and not hours > 0:
        hours = None
    return Filters(q.get("project", ""), q.get("channel", ""), q.get("verdict", ""), hours)


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
        "thumbnail": f"/thumb/{quote(item.request_id, safe='')}" if facts and facts.key else None,
    }


class Views:
    def __init__(
        self,
        queue: ReviewQueue,
        decider: Decider,
        thumbs: Thumbnails,
        status: StatusPanel,
        presigned: bool,
        asyncapi: Any,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self._queue = queue
        self._decider = decider
        self._thumbs = thumbs
        self._status = status
        self._presigned = presigned
        self._asyncapi_source = asyncapi  # () -> the AsyncAPI document, built on first use
        self._asyncapi: dict[str, Any] | None = None

    def _mine(self, rid: str, session: Session) -> Item | None:
        item = self._queue.item(unquote(rid))
        return item if item is not None and item.project in session.projects else None

    async def queue_page(self, request: Request, session: Session) -> Response:
        filters = _filters(request)
        version = self._queue.version  # the page is as of this version: its events start here
        items, total = self._queue.pending(session.projects, filters)
        listing = pages.queue_list(items, total, session.csrf)
        status = pages.status_panel(await self._status.rows())
        projects = sorted(session.projects)
        page = pages.queue_page(
            session.reviewer, session.csrf, projects, filters, listing, status, version
        )
        return html(page)

    def queue_fragment(self, request: Request, session: Session) -> Response:
        items, total = self._queue.pending(session.projects, _filters(request))
        return html(pages.queue_list(items, total, session.csrf))

    def queue_json(self, request: Request, session: Session) -> Response:
        items, total = self._queue.pending(session.projects, _filters(request))
        return json_response({"total": total, "items": [_item_json(i) for i in items]})

    async def status_fragment(self) -> Response:
        return html(pages.status_panel(await self._status.rows()))

    async def decide(self, request: Request, session: Session) -> Response:
        form = request.form()
        try:
            decision = await self._decider.decide(
                session, form.get("request_id", ""), form.get("action", ""), form.get("note", "")
            )
        except DecisionRefused as exc:
            return json_error(exc.status, exc.code, exc.detail)
        if not request.wants_json and "json" not in request.headers.get("content-type", ""):
            return redirect("/", 303)  # a plain form post, without the page's script
        return json_response({"decision": decision.model_dump(mode="json")})

    async def thumbnail(self, rid: str, session: Session) -> Response:
        item = self._mine(rid, session)
        if item is None:
            return json_error(404, "not_found", _NOT_FOUND)
        facts = item.facts
        if facts is None or facts.bucket is None or facts.key is None:
            return json_error(404, "no_object", "the screenshot's object is not known")
        try:
            if self._presigned:
                return redirect(self._thumbs.presigned(item.project, facts.bucket, facts.key), 302)
            body, kind = await self._thumbs.fetch(item.project, facts.bucket, facts.key)
        except ThumbnailMissing as exc:
            return json_error(502, "store_failed", f"the bucket did not give the image: {exc}")
        if not kind.startswith("image/"):
            kind = "application/octet-stream"
        return Response(200, body, kind, [("cache-control", "private, max-age=300")])

    def history(self, rid: str, session: Session, as_json: bool) -> Response:
        item = self._mine(rid, session)
        if item is None:
            return json_error(404, "not_found", _NOT_FOUND)
        verdicts, decisions = self._queue.history(item.request_id)
        if not as_json:
            page = pages.history_page(session.reviewer, session.csrf, item, verdicts, decisions)
            return html(page)
        return json_response(
            {
                "request_id": item.request_id,
                "project": item.project,
                "verdicts": [
                    {"published_at": at.isoformat(), **v.model_dump(mode="json")}
                    for at, v in verdicts
                ],
                "decisions": [d.model_dump(mode="json") for d in decisions],
            }
        )

    def asyncapi(self, as_json: bool, session: Session) -> Response:
        if self._asyncapi is None:
            self._asyncapi = self._asyncapi_source()
        doc = self._asyncapi
        if as_json:
            return json_response(doc)
        rows = sorted(
            (channel.get("address", ""), title, channel.get("description", ""))
            for title, channel in doc.get("channels", {}).items()
        )
        return html(pages.asyncapi_page(session.reviewer, session.csrf, rows))

    @staticmethod
    def static(name: str) -> Response:
        if name not in _STATIC:
            return json_error(404, "not_found", f"no static file {name!r}")
        body = resources.files("shotline.console").joinpath("static", name).read_bytes()
        return Response(200, body, _STATIC[name], [("cache-control", "private, max-age=300")])
