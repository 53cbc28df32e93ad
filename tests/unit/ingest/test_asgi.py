"""The lifespan protocol ingest and the console answer alike (``ingest.asgi``)."""

from __future__ import annotations

from typing import Any

from ingest.asgi import Message, serve_lifespan


class Server:
    """What an ASGI server sends and receives over the lifespan scope."""

    def __init__(self, *incoming: str) -> None:
        self.incoming = [{"type": t} for t in incoming]
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def test_startup_and_shutdown_run_in_order_and_are_acknowledged() -> None:
    calls: list[str] = []

    async def startup() -> None:
        calls.append("startup")

    async def shutdown() -> None:
        calls.append("shutdown")

    server = Server("lifespan.startup", "lifespan.shutdown")
    await serve_lifespan(
        server.receive, server.send, startup, shutdown, lambda exc: calls.append(f"{exc}")
    )
    assert calls == ["startup", "shutdown"]
    assert [m["type"] for m in server.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


async def test_a_failed_startup_is_reported_to_the_server_and_logged() -> None:
    failures: list[Exception] = []

    async def startup() -> None:
        raise OSError("spool directory not writable")

    async def shutdown() -> Any:
        raise AssertionError("no shutdown after a failed startup")

    server = Server("lifespan.startup")
    await serve_lifespan(server.receive, server.send, startup, shutdown, failures.append)
    assert server.sent == [
        {"type": "lifespan.startup.failed", "message": "spool directory not writable"}
    ]
    assert [str(f) for f in failures] == ["spool directory not writable"]
