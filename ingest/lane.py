"""uvicorn's httptools protocol with a direct lane for the callback route.

A plain callback (``POST /v1/callbacks/{key}`` with a ``Content-Length`` within the limit,
from an allowed address, JSON content type, no ``Expect``, no upgrade, nothing pipelined
ahead of it) skips the ASGI cycle: no scope dict, no receive/send messages, no task waiting
for its body. When its body is complete, one task runs the same steps as the ASGI app
(``IngestApp.judge`` and ``IngestApp.conclude``: the same checks, records, metrics and
answers) and writes the answer. Measured alone on the development machine at 3,900
requests/s, uvicorn's cycle costs about 95 µs of CPU per request, as much as everything
shotline does for a callback (docs/performance.md, Ingest).

Every other request takes uvicorn's own path into the ASGI app unchanged: other routes,
other methods, refusals decided before the body (404, 403, 415, 413 by ``Content-Length``),
chunked bodies, ``Expect: 100-continue``, requests pipelined behind one in progress, and a
server run with ``limit_concurrency``. Connection handling stays uvicorn's: keep-alive and
its timeout, flow control, pipelining, graceful shutdown (the lane's tasks are in the
server's task set, so a shutdown waits for their Kafka acks) and the ``Date`` and
``Server`` headers.

Behind a trusted proxy (uvicorn's ``forwarded_allow_ips``) the client address comes from
``X-Forwarded-For`` exactly as uvicorn's ``ProxyHeadersMiddleware`` finds it: the lane asks
the middleware's own trusted-hosts rule.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from ingest.app import PREFIX, IngestApp
from ingest.service import Project

__all__ = ["IngestProtocol"]

log = logging.getLogger("shotline.ingest.http")

_POST = b"POST"
_PREFIX = PREFIX.encode()
_INTERNAL = b'{"status":"error","error":"internal"}'


class _NoEvent:
    """uvicorn's protocol sets its cycle's ``message_event``; the lane waits on none."""

    __slots__ = ()

    def set(self) -> None:
        return None


_NO_EVENT = _NoEvent()


class _Lane:
    """One callback on the lane; it stands in for uvicorn's ``RequestResponseCycle`` as
    ``protocol.cycle``, with the attributes the protocol reads and writes."""

    __slots__ = (
        "body",
        "disconnected",
        "headers",
        "keep_alive",
        "project",
        "response_complete",
        "source",
        "start",
    )

    message_event = _NO_EVENT
    more_body = True

    def __init__(
        self,
        project: Project,
        headers: dict[bytes, bytes],
        source: str | None,
        keep_alive: bool,
        start: float,
    ) -> None:
        self.project = project
        self.headers = headers
        self.source = source
        self.keep_alive = keep_alive
        self.start = start
        self.body = bytearray()
        self.disconnected = False
        self.response_complete = False


class IngestProtocol(HttpToolsProtocol):
    """``uvicorn.run(..., http="ingest.lane:IngestProtocol")``, with an ``IngestApp``."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._ingest, self._proxy = _unwrap(self.app)
        self._limit = self._ingest.service.settings.max_body_bytes if self._ingest else 0

    def on_headers_complete(self) -> None:
        try:
            lane = self._lane()
        except Exception:  # the ASGI app answers what the lane could not judge
            log.exception("callback lane: falling back to the ASGI path")
            lane = None
        if lane is None:
            super().on_headers_complete()
        else:
            self.cycle = lane  # type: ignore[assignment]

    def _lane(self) -> _Lane | None:
        """A lane for this request, or None for uvicorn's ASGI path."""
        app = self._ingest
        url = self.url
        if (
            app is None
            or not url.startswith(_PREFIX)
            or self.parser.get_method() != _POST
            or self.expect_100_continue
            or self.limit_concurrency is not None
            or self.parser.should_upgrade()
            or (self.cycle is not None and not self.cycle.response_complete)
        ):
            return None
        key = url[len(_PREFIX) :]
        if not key.isalnum() and not _plain(key):
            return None  # a query, escapes or a path below the key: the ASGI app decides
        headers = dict(self.headers)
        declared = headers.get(b"content-length")
        if declared is None or not declared.isdigit() or int(declared) > self._limit:
            return None  # (with Transfer-Encoding as well, httptools refuses the request)
        source = self._source(headers)
        project, refused = app.screen(key.decode("ascii"), headers, source)
        if project is None or refused is not None:
            return None
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        return _Lane(project, headers, source, keep_alive, time.perf_counter())

    def _source(self, headers: dict[bytes, bytes]) -> str | None:
        host = self.client[0] if self.client else None
        proxy = self._proxy
        if proxy is not None and b"x-forwarded-for" in headers and host in proxy.trusted_hosts:
            forwarded = [v for n, v in self.headers if n == b"x-forwarded-for"]
            if forwarded:
                found, _ = proxy.trusted_hosts.get_trusted_client_address(
                    b", ".join(forwarded).decode("latin1")
                )
                if found:
                    return str(found)
        return host

    def on_body(self, body: bytes) -> None:
        lane: object = self.cycle
        if type(lane) is not _Lane:
            super().on_body(body)
            return
        lane.body += body  # at most the declared Content-Length, within the limit

    def on_message_complete(self) -> None:
        lane: object = self.cycle
        if type(lane) is not _Lane:
            super().on_message_complete()
            return
        task = self.loop.create_task(self._run(lane))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _run(self, lane: _Lane) -> None:
        app = self._ingest
        assert app is not None
        body = bytes(lane.body)
        try:
            result = app.judge(lane.project, lane.headers, body)
            status, answer = await app.conclude(result, lane.project, body, lane.source, lane.start)
        except Exception:
            # As the ASGI app does: a bug still answers JSON.
            log.exception("unexpected error on callback")
            status, answer = 500, _INTERNAL
        if self.flow.write_paused and not lane.disconnected:
            await self.flow.drain()
        if lane.disconnected:
            return
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += (name, b": ", value, b"\r\n")
        parts += (
            b"content-type: application/json\r\ncontent-length: ",
            b"%d" % len(answer),
            b"\r\n" if lane.keep_alive else b"\r\nconnection: close\r\n",
            b"\r\n",
            answer,
        )
        self.transport.write(b"".join(parts))
        lane.response_complete = True
        if not lane.keep_alive:
            self.transport.close()
        self.on_response_complete()


def _plain(key: bytes) -> bool:
    """A project key as a path segment: letters, digits, ``-``, ``_`` and ``.``."""
    return bool(key) and all(c in _KEY_BYTES for c in key)


_KEY_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _unwrap(app: Any) -> tuple[IngestApp | None, ProxyHeadersMiddleware | None]:
    """The ``IngestApp`` under uvicorn's middleware, and its proxy-headers middleware."""
    proxy = None
    while app is not None and not isinstance(app, IngestApp):
        if isinstance(app, ProxyHeadersMiddleware):
            proxy = app
        app = getattr(app, "app", None)
    return app, proxy
