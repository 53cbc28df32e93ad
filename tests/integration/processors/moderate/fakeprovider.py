"""A fake moderation provider served over real HTTP on loopback (uvicorn, raw ASGI).

It speaks the ``shotline`` preset and misbehaves on a script:
- ``poison`` request ids: always 500; ``reject`` ones: always 400;
- every ``error_every``-th request: 500; every ``garbage_every``-th: a body that is not JSON;
  every ``slow_every``-th: answers after ``slow_s`` (past the client's timeout);
- at request ``burst_at``: a 429 burst for ``burst_s`` — every request in it gets
  ``429 Retry-After: <retry_after>``;
- at request ``outage_at``: an outage of ``outage_s`` — every request in it gets 500.
Otherwise 200 with one label whose score derives from the request id.
It records the arrival time of every request and when each 429 was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn


async def read_body(receive: Any) -> bytes:
    """The whole request body of an ASGI HTTP request."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@dataclass
class Script:
    poison: frozenset[str] = frozenset()
    reject: frozenset[str] = frozenset()
    error_every: int = 0
    garbage_every: int = 0
    slow_every: int = 0
    slow_s: float = 1.0
    burst_at: int = -1
    burst_s: float = 0.3
    retry_after: str = "2"
    outage_at: int = -1
    outage_s: float = 1.5


def score_of(request_id: str) -> float:
    return hashlib.sha256(request_id.encode()).digest()[0] / 255


@dataclass
class FakeProvider:
    script: Script
    arrivals: list[float] = field(default_factory=list)
    throttled_at: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    _burst_until: float = 0.0
    _outage_until: float = 0.0

    def decide(self, rid: str) -> tuple[int, dict[str, str], bytes, float]:
        now = time.monotonic()
        n = len(self.arrivals)
        self.arrivals.append(now)
        s = self.script
        if n == s.burst_at:
            self._burst_until = now + s.burst_s
        if n == s.outage_at:
            self._outage_until = now + s.outage_s
        if now < self._burst_until:
            self.throttled_at.append(now)
            return 429, {"Retry-After": s.retry_after}, b'{"error":"slow down"}', 0.0
        if rid in s.poison or now < self._outage_until:
            return 500, {}, b'{"error":"boom"}', 0.0
        if rid in s.reject:
            return 400, {}, b'{"error":"bad image"}', 0.0
        if s.error_every and n % s.error_every == s.error_every - 1:
            return 503, {}, b"unavailable", 0.0
        if s.garbage_every and n % s.garbage_every == s.garbage_every - 1:
            return 200, {}, b"<html>surprise</html>", 0.0
        delay = s.slow_s if s.slow_every and n % s.slow_every == s.slow_every - 1 else 0.0
        body = orjson.dumps({"labels": [{"name": "nsfw", "score": score_of(rid)}]})
        return 200, {}, body, delay

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        self.requests.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        rid = orjson.loads(body).get("requestId", "")
        status, headers, body, delay = self.decide(rid)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if delay:
            await asyncio.sleep(delay)
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    def max_in_window(self, window_s: float = 1.0) -> int:
        """Most requests that arrived within any ``window_s``-long window."""
        times = sorted(self.arrivals)
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= window_s:
                start += 1
            best = max(best, end - start + 1)
        return best


@asynccontextmanager
async def serving(app: FakeProvider) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/v1/moderate"
    finally:
        server.should_exit = True
        await task
        sock.close()
