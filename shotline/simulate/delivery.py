"""Agora's delivery rules, as the seeds state them.

A notification succeeds only on HTTP 200 with a JSON body received within the timeout
(5 s). Anything else — another status, a body that is not JSON, a timeout, a refused or
reset connection — is a failure, retried immediately, three attempts in total; then Agora
gives up for good. httpx stays inside this module: callers see only ``Delivery``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import orjson

from shotline.simulate.settings import AGORA_ATTEMPTS, AGORA_TIMEOUT_S

__all__ = ["HEADERS", "Attempt", "Courier", "Delivery"]

HEADERS = {"Content-Type": "application/json;charset=utf-8"}
POOL_SIZE = 4  # connections per httpx client


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST: ``outcome`` is ``"200"``, another status code, ``"non_json"``,
    ``"timeout"`` or ``"connection"``."""

    outcome: str
    latency_s: float

    @property
    def ok(self) -> bool:
        return self.outcome == "200"


@dataclass(frozen=True, slots=True)
class Delivery:
    """All attempts for one notification; ``acked`` if the last one succeeded."""

    attempts: tuple[Attempt, ...]

    @property
    def acked(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok


class Courier:
    """Delivers notifications over keep-alive HTTP/1.1 connections (``concurrency`` in all)."""

    def __init__(
        self,
        url: str,
        concurrency: int,
        timeout_s: float = AGORA_TIMEOUT_S,
        attempts: int = AGORA_ATTEMPTS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_attempts = attempts
        # httpcore's pool walks every connection and queued request on each request, so one
        # big pool costs O(concurrency) CPU per request; small pools keep that constant.
        pools = max(1, -(-concurrency // POOL_SIZE))
        size = -(-concurrency // pools)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self.clients = [
            httpx.AsyncClient(http1=True, limits=limits, timeout=timeout_s, transport=transport)
            for _ in range(pools)
        ]
        self._next = 0

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def deliver(self, body: bytes) -> Delivery:
        """Send ``body`` until it is acknowledged or the attempts run out."""
        attempts: list[Attempt] = []
        while len(attempts) < self.max_attempts:
            attempt = await self._attempt(body)
            attempts.append(attempt)
            if attempt.ok:
                break
        return Delivery(tuple(attempts))

    async def _attempt(self, body: bytes) -> Attempt:
        self._next = (self._next + 1) % len(self.clients)
        client = self.clients[self._next]
        started = time.perf_counter()
        try:
            # The deadline covers the whole exchange, as Agora's 5 s does; httpx's own
            # timeouts apply per phase only.
            async with asyncio.timeout(self.timeout_s):
                response = await client.post(self.url, content=body, headers=HEADERS)
        except (TimeoutError, httpx.TimeoutException):
            return Attempt("timeout", time.perf_counter() - started)
        except httpx.HTTPError:
            return Attempt("connection", time.perf_counter() - started)
        latency = time.perf_counter() - started
        if response.status_code != 200:
            return Attempt(str(response.status_code), latency)
        try:
            orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return Attempt("non_json", latency)
        return Attempt("200", latency)
