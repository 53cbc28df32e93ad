"""Raw ASGI, shared by ingest's app and the review console (neither uses a framework):
Starlette's four aliases and the lifespan protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["Message", "Receive", "Scope", "Send", "serve_lifespan"]

# The four ASGI aliases of Starlette's ``types.py``.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def serve_lifespan(
    receive: Receive,
    send: Send,
    startup: Callable[[], Awaitable[None]],
    shutdown: Callable[[], Awaitable[None]],
    failed: Callable[[Exception], None],
) -> None:
    """Answer the server's lifespan messages: ``startup`` then ``shutdown``. A ``startup``
    that raises is reported to the server as ``lifespan.startup.failed`` (the server then
    exits) after ``failed`` logged it."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                failed(exc)
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
