"""Agora's delivery rules, as the seeds state them.

A notification succeeds only on HTTP 200 with a JSON body received within the timeout
(5 s). Anything else — another status, a body that is not JSON, a timeout, a refused or
reset connection — is a failure, retried immediately, three attempts in total; then Agora
gives up for good. The HTTP client stays inside this module: callers see only ``Delivery``.

The client is aiohttp: about 0.2 ms of CPU per callback where httpx took about 1.3 ms (same
loopback receiver, 64 in flight), so one simulator process can load ingest at thousands of
callbacks/s instead of several hundred, and load tests measure shotline, not the sender.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import orjson

from shotline.simulate.settings import AGORA_ATTEMPTS, AGORA_TIMEOUT_S

__all__ = ["HEADERS", "Attempt", "Courier", "Delivery"]

HEADERS = {"Content-Type": "application/json;charset=utf-8"}


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
    ) -> None:
        self.url = url
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_attempts = attempts
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp binds it to the running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.concurrency),
                timeout=aiohttp.ClientTimeout(total=None),  # the deadline is _attempt's
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        started = time.perf_counter()
        try:
            # The deadline covers the whole exchange, as Agora's 5 s does.
            async with asyncio.timeout(self.timeout_s):
                async with self._client().post(self.url, data=body, headers=HEADERS) as response:
                    status, content = response.status, await response.read()
        except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
            return Attempt("timeout", time.perf_counter() - started)
        except aiohttp.ClientError:
            return Attempt("connection", time.perf_counter() - started)
        latency = time.perf_counter() - started
        if status != 200:
            return Attempt(str(status), latency)
        try:
            orjson.loads(content)
        except orjson.JSONDecodeError:
            return Attempt("non_json", latency)
        return Attempt("200", latency)
