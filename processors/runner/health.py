"""``GET /healthz`` and ``GET /metrics`` on the runner's port: a minimal HTTP/1.1 server.

``/healthz`` answers 200 with each processor's state while all run, else 503; ``/metrics``
is the Prometheus text exposition of the app's registry. Anything else is 404. Deliberately
tiny (asyncio streams): it must keep answering while the processors are busy, and it must
not install signal handlers of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Literal

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["EngineState", "HealthServer"]

EngineState = Literal["starting", "running", "stopping", "stopped", "failed"]
"""Where an engine is in its life: ``starting`` (joining the group, restoring) →
``running`` → ``stopping`` → ``stopped``; ``failed`` when it stopped on an error (a
``FatalError``, or one it could not handle). ``/healthz`` is 200 only while all run."""


class HealthServer:
    def __init__(
        self,
        registry: CollectorRegistry,
        states: Callable[[], Mapping[str, EngineState]],
        host: str,
        port: int,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self._registry = registry
        self._states = states
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _response(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path == "/healthz":
            states = dict(self._states())
            ok = bool(states) and all(state == "running" for state in states.values())
            body = orjson.dumps({"status": "ok" if ok else "unavailable", "processors": states})
            return (200 if ok else 503), "application/json", body
        return 404, "application/json", b'{"error":"not found"}'

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            parts = request.split(b" ", 2)
            path = parts[1].decode("latin-1").split("?", 1)[0] if len(parts) > 1 else "/"
            status, ctype, body = self._response(path)
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass  # a client that hangs up or never finishes its request gets nothing
        finally:
            writer.close()
