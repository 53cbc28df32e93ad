"""A tiny callback receiver for the simulator's tests: raw ASGI under uvicorn, in a thread.

It judges callbacks like a strict receiver (400 not JSON, 422 schema, 401 checksum, 200
``{"ok": true}``) and can be told to misbehave: answer slowly, with an error status, or
with a body that is not JSON, for the first N attempts of each requestId or for all.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from pydantic import ValidationError

from schemas import AgoraCallback, checksum, checksum_matches
from shotline.dev.topology import free_port

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Misbehaviour:
    """Applied to the first ``times`` attempts per body (None: every attempt)."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    delay_s: float = 0.0
    times: int | None = None


@dataclass
class Receiver:
    callback_addr: str = ""
    misbehaviour: Misbehaviour | None = None
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    attempts_per_body: Counter[bytes] = field(default_factory=Counter)
    url: str = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, body))
        self.attempts_per_body[body] += 1
        bad = self.misbehaviour
        if bad and (bad.times is None or self.attempts_per_body[body] <= bad.times):
            await asyncio.sleep(bad.delay_s)
            await self._answer(send, bad.status, bad.body)
            return
        status, answer = self.judge(body)
        await self._answer(send, status, orjson.dumps(answer))

    def judge(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, {"error": "not json"}
        try:
            callback = AgoraCallback.model_validate(data)
        except ValidationError:
            return 422, {"error": "schema"}
        want = checksum(self.callback_addr, callback.code, callback.object, callback.requestId)
        if not checksum_matches(want, callback.checksum):
            return 401, {"error": "checksum"}
        self.accepted[callback.requestId] += 1
        return 200, {"ok": True}

    async def _answer(self, send: Send, status: int, body: bytes) -> None:
        self.statuses[status] += 1
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ReceiverServer:
    """Runs a ``Receiver`` under uvicorn on a free loopback port in a daemon thread."""

    def __init__(self, receiver: Receiver) -> None:
        self.port = free_port()
        receiver.url = f"http://127.0.0.1:{self.port}/v1/callbacks/demo"
        receiver.callback_addr = receiver.callback_addr or receiver.url
        self.receiver = receiver
        config = uvicorn.Config(
            receiver, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "receiver did not start"
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
