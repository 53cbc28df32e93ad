"""Test doubles that sit in front of the real S3 server, never in place of it.

``FaultProxy``: a small HTTP/1.1 proxy to moto's server that counts HeadObject requests per
bucket and injects faults into the HEADs of chosen keys: ``slowdown`` answers 503 SlowDown,
``timeout`` holds the request longer than the client's read timeout and drops it.

``auth_moto``: a second moto server with IAM auth on (``INITIAL_NO_AUTH_ACTION_COUNT=0``),
on a free port, so unknown keys get moto's own 403 InvalidAccessKeyId/Forbidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx

from tests.integration.processors.runner.streams import free_port

_DROP = {"host", "content-length", "transfer-encoding", "connection"}


class FaultProxy:
    def __init__(self, upstream: str, hang_s: float = 3.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.hang_s = hang_s
        self.heads: Counter[str] = Counter()  # by bucket
        self.heads_by_key: Counter[str] = Counter()
        self.faults: dict[str, deque[str]] = {}  # key → faults for its next HEADs
        self._client = httpx.AsyncClient(timeout=30)
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines if line]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                body = await reader.readexactly(length) if length else b""
                if method == "HEAD":
                    path = unquote(target.split("?", 1)[0]).lstrip("/")
                    bucket, _, key = path.partition("/")
                    self.heads[bucket] += 1
                    self.heads_by_key[key] += 1
                    queue = self.faults.get(key)
                    fault = queue.popleft() if queue else None
                    if fault == "timeout":
                        await asyncio.sleep(self.hang_s)
                        return  # the connection is dropped, as a dead peer would
                    if fault == "slowdown":
                        writer.write(b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\n\r\n")
                        await writer.drain()
                        continue
                forward = {k: v for k, v in headers if k.lower() not in _DROP}
                answer = await self._client.request(
                    method, self.upstream + target, headers=forward, content=body
                )
                out = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}"]
                out += [f"{k}: {v}" for k, v in answer.headers.items() if k.lower() not in _DROP]
                size = answer.headers.get("content-length", "0")
                out.append(f"Content-Length: {size if method == 'HEAD' else len(answer.content)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
                if method != "HEAD":
                    writer.write(answer.content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


@contextlib.contextmanager
def auth_moto(tmp: Path) -> Iterator[str]:
    """A moto server that checks credentials; yields its endpoint."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    log = (tmp / "moto-auth.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"moto with auth did not start: {(tmp / 'moto-auth.log')}")
            time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
