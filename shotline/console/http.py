"""Raw ASGI plumbing for the console (as ingest does: no framework, the same aliases from
``ingest.asgi``): the request as read, and answers that always carry the security headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import orjson

from ingest.asgi import Receive, Scope, Send
from shotline.errors import BodyTooLarge

__all__ = [
    "CSP",
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "html",
    "json_error",
    "json_response",
    "read_request",
    "redirect",
]

MAX_BODY = 64 * 1024
# Only the console's own origin: no CDN, no inline script, no framing.
CSP = (
    "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    client: str
    raw_path: str = ""  # still percent-encoded
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body as ``application/x-www-form-urlencoded`` or a JSON object of strings."""
        kind = self.headers.get("content-type", "")
        if kind.startswith("application/json"):
            try:
                data = orjson.loads(self.body or b"{}")
            except orjson.JSONDecodeError:
                return {}
            return (
                {k: v for k, v in data.items() if isinstance(v, str)}
                if isinstance(data, dict)
                else {}
            )
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    @property
    def wants_json(self) -> bool:
        return self.path.startswith("/api/") or "application/json" in self.headers.get("accept", "")


async def read_request(scope: Scope, receive: Receive) -> Request:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    cookies: dict[str, str] = {}
    if "cookie" in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers["cookie"])
        except Exception:
            jar = SimpleCookie()
        cookies = {k: morsel.value for k, morsel in jar.items()}
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    client = scope.get("client") or ("", 0)
    raw = scope.get("raw_path") or scope["path"].encode()
    request = Request(
        scope["method"], scope["path"], query, headers, cookies, client[0], raw.decode("latin-1")
    )
    if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise BodyTooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        request.body = b"".join(chunks)
    return request


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    csp: str = CSP

    async def send(self, send: Send) -> None:
        headers = [
            ("content-type", self.content_type),
            ("content-length", str(len(self.body))),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),  # "no-referrer" makes form posts say Origin: null
            ("x-frame-options", "DENY"),
            ("content-security-policy", self.csp),
            *self.headers,
        ]
        if not any(k == "cache-control" for k, _ in self.headers):
            headers.append(("cache-control", "no-store"))
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": self.body})


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(data), "application/json")


def json_error(status: int, code: str, detail: str, **extra: Any) -> Response:
    """Every error answer: ``{"error": code, "detail": "..."}``."""
    return json_response({"error": code, "detail": detail, **extra}, status)


def html(text: str, status: int = 200, csp: str = CSP) -> Response:
    return Response(status, text.encode(), "text/html; charset=utf-8", csp=csp)


def redirect(location: str, status: int = 303) -> Response:
    return Response(status, b"", "text/plain", [("location", location)])
