"""Server-Sent Events: ``event: changed`` with the queue's version whenever it changes
(the page then fetches its list again), and a comment every 15 s so that proxies keep the
stream open. A stream ends when the browser goes, its session ends, or the console stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from shotline.console.http import Receive, Send
from shotline.console.queue import ReviewQueue

__all__ = ["stream_changes"]

KEEPALIVE_S = 15.0


async def stream_changes(
    queue: ReviewQueue,
    since: int,
    alive: Callable[[], bool],
    closing: asyncio.Event,
    receive: Receive,
    send: Send,
) -> None:
    """Stream from version ``since`` (the one the page was rendered at) while ``alive()``."""
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
    version = since
    try:
        while not gone.is_set() and not closing.is_set() and alive():
            now = await queue.wait_changed(version, KEEPALIVE_S)
            if gone.is_set():
                break
            chunk = f"event: changed\ndata: {now}\n\n" if now != version else ": keepalive\n\n"
            version = now
            await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
