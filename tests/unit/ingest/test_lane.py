"""The callback lane (``ingest.lane.IngestProtocol``) in a real uvicorn server on a real
socket: it answers exactly as uvicorn's ASGI path does, takes the requests it should, hands
every other one to the ASGI app, and keeps uvicorn's connection handling (pipelining,
``Connection: close``, HTTP/1.0, a client gone before the ack, graceful shutdown)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from ingest import IngestApp
from ingest.lane import IngestProtocol
from schemas import ProjectConfig
from shotline.dev.topology import free_port
from tests.unit.ingest.conftest import ADDR, KEY, FakePublisher, callback_body, make_app

PATH = f"/v1/callbacks/{KEY}".encode()


def post(body: bytes, *, path: bytes = PATH, extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return (
        b"POST " + path + b" HTTP/" + version + b"\r\nhost: ingest\r\n"
        b"content-type: application/json;charset=utf-8\r\n"
        b"content-length: %d\r\n" % len(body) + extra + b"\r\n" + body
    )


def valid(n: int = 0) -> bytes:
    return orjson.dumps(callback_body(requestId=f"lane-{n}"))


class Server:
    """A uvicorn server on a free port, serving ``app`` with ``http``."""

    def __init__(self, app: IngestApp, http: type[HttpToolsProtocol]) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, http=http, lifespan="off", log_level="error"
        )
        self.server = uvicorn.Server(config)

    async def start(self) -> asyncio.Task[None]:
        """Serve in a task; return it once uvicorn listens."""
        task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
            assert not task.done(), "uvicorn did not start"
        return task

    def cycles(self) -> list[str]:
        """The kind of request each open connection handled last."""
        return [type(c.cycle).__name__ for c in self.server.server_state.connections]

    async def exchange(self, request: bytes, answers: int = 1) -> list[tuple[bytes, bytes]]:
        """Send ``request`` on one connection; read ``answers`` responses (head, body)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(request)
            await writer.drain()
            return [await read_response(reader) for _ in range(answers)]
        finally:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


@asynccontextmanager
async def serving(app: IngestApp, http: type[HttpToolsProtocol]) -> AsyncIterator[Server]:
    server = Server(app, http)
    task = await server.start()
    try:
        yield server
    finally:
        server.server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def lane(app: IngestApp) -> AsyncIterator[Server]:
    async with serving(app, IngestProtocol) as server:
        yield server


def status(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def headers(head: bytes) -> dict[bytes, bytes]:
    lines = head.split(b"\r\n")[1:]
    pairs = (line.split(b":", 1) for line in lines if line)
    return {k.strip().lower(): v.strip() for k, v in pairs if k.lower() != b"date"}


REQUESTS: dict[str, Callable[[], bytes]] = {
    "valid": lambda: post(valid(1)),
    "not json": lambda: post(b'{"requestId": '),
    "schema": lambda: post(orjson.dumps(callback_body(code="two hundred"))),
    "checksum": lambda: post(orjson.dumps(callback_body(requestId="lane-c", checksum="0" * 32))),
    "unknown key": lambda: post(valid(2), path=b"/v1/callbacks/nope"),
    "query": lambda: post(valid(3), path=PATH + b"?x=1"),
    "content type": lambda: post(valid(4)).replace(b"application/json", b"text/plain"),
    "too large": lambda: post(b"{" + b" " * 300_000 + b"}"),
    "chunked": lambda: (
        b"POST " + PATH + b" HTTP/1.1\r\nhost: ingest\r\ncontent-type: application/json\r\n"
        b"transfer-encoding: chunked\r\n\r\n%x\r\n" % len(valid(5)) + valid(5) + b"\r\n0\r\n\r\n"
    ),
    "length and chunks": lambda: post(
        b"%x\r\n" % len(valid(6)) + valid(6) + b"\r\n0\r\n\r\n",
        extra=b"transfer-encoding: chunked\r\n",
    ),
    "chunked too large": lambda: (
        b"POST " + PATH + b" HTTP/1.1\r\nhost: ingest\r\ncontent-type: application/json\r\n"
        b"transfer-encoding: chunked\r\n\r\n%x\r\n" % 300_002 + b"{" + b" " * 300_000 + b"}"
        b"\r\n0\r\n\r\n"
    ),
    "get": lambda: b"GET " + PATH + b" HTTP/1.1\r\nhost: ingest\r\n\r\n",
    "healthz": lambda: b"GET /healthz HTTP/1.1\r\nhost: ingest\r\n\r\n",
}
ON_THE_LANE = {"valid", "not json", "schema", "checksum"}


@pytest.mark.parametrize("name", sorted(REQUESTS))
async def test_the_lane_answers_as_the_asgi_path(
    tmp_path: Path, name: str, app: IngestApp, publisher: FakePublisher
) -> None:
    other = FakePublisher()
    plain_app = make_app(tmp_path / "plain", other)
    await plain_app.startup()
    try:
        async with (
            serving(app, IngestProtocol) as lane,
            serving(plain_app, HttpToolsProtocol) as asgi,
        ):
            [(lane_head, lane_body)] = await lane.exchange(REQUESTS[name]())
            kinds = lane.cycles()
            [(asgi_head, asgi_body)] = await asgi.exchange(REQUESTS[name]())
    finally:
        await plain_app.shutdown()
    assert status(lane_head) == status(asgi_head)
    assert headers(lane_head) == headers(asgi_head)
    assert lane_body == asgi_body or orjson.loads(lane_body) == orjson.loads(asgi_body)
    # the envelopes differ in their receive time and trace span: compare the callbacks
    assert [orjson.loads(r.value)["callback"] for r in publisher.published] == [
        orjson.loads(r.value)["callback"] for r in other.published
    ]
    expected = "_Lane" if name in ON_THE_LANE else RequestResponseCycle.__name__
    assert kinds in ([expected], []), kinds  # [] when uvicorn closed the connection first


async def test_a_valid_callback_is_published_from_the_lane(
    lane: Server, publisher: FakePublisher
) -> None:
    [(head, body)] = await lane.exchange(post(valid(7)))
    assert status(head) == 200
    assert orjson.loads(body) == {"status": "ok", "requestId": "lane-7", "via": "kafka"}
    assert [orjson.loads(r.value)["callback"]["requestId"] for r in publisher.published] == [
        "lane-7"
    ]


async def test_pipelined_requests_are_answered_in_order(
    lane: Server, publisher: FakePublisher
) -> None:
    publisher.delay_s = 0.05  # the first is still waiting for its ack when the others arrive
    healthz = b"GET /healthz HTTP/1.1\r\nhost: ingest\r\n\r\n"
    answers = await lane.exchange(post(valid(1)) + healthz + post(valid(2)), answers=3)
    assert [status(h) for h, _ in answers] == [200, 200, 200]
    assert [orjson.loads(b).get("requestId") for _, b in answers] == ["lane-1", None, "lane-2"]
    assert len(publisher.published) == 2


@pytest.mark.parametrize(("extra", "version"), [(b"connection: close\r\n", b"1.1"), (b"", b"1.0")])
async def test_the_connection_closes_when_the_client_asks(
    lane: Server, extra: bytes, version: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", lane.port)
    writer.write(post(valid(3), extra=extra, version=version))
    head, _ = await read_response(reader)
    assert status(head) == 200
    assert headers(head)[b"connection"] == b"close"
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    writer.close()


async def test_a_keep_alive_connection_serves_callbacks_one_after_another(lane: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", lane.port)
    for n in range(3):
        writer.write(post(valid(10 + n)))
        head, body = await read_response(reader)
        assert (status(head), orjson.loads(body)["requestId"]) == (200, f"lane-{10 + n}")
        assert b"connection" not in headers(head)
    writer.close()


async def test_a_client_gone_before_the_ack_still_gets_its_callback_published(
    lane: Server, publisher: FakePublisher
) -> None:
    publisher.delay_s = 0.3
    _, writer = await asyncio.open_connection("127.0.0.1", lane.port)
    writer.write(post(valid(4)))
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()
    for _ in range(100):
        if publisher.published:
            break
        await asyncio.sleep(0.02)
    assert [orjson.loads(r.value)["callback"]["requestId"] for r in publisher.published] == [
        "lane-4"
    ]
    publisher.delay_s = 0.0
    [(head, _)] = await lane.exchange(post(valid(5)))  # and the server serves on
    assert status(head) == 200


async def test_a_graceful_shutdown_waits_for_the_ack(
    app: IngestApp, publisher: FakePublisher
) -> None:
    publisher.delay_s = 0.5
    server = Server(app, IngestProtocol)
    task = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(post(valid(6)))
    await writer.drain()
    await asyncio.sleep(0.1)
    server.server.should_exit = True
    head, body = await read_response(reader)
    await asyncio.wait_for(task, 10)
    writer.close()
    assert (status(head), orjson.loads(body)["via"]) == (200, "kafka")
    assert headers(head)[b"connection"] == b"close"
    assert len(publisher.published) == 1


async def test_a_shutdown_waits_for_the_ack_of_a_client_already_gone(
    app: IngestApp, publisher: FakePublisher
) -> None:
    publisher.delay_s = 0.5
    server = Server(app, IngestProtocol)
    task = await server.start()
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(post(valid(11)))
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await asyncio.sleep(0.05)
    server.server.should_exit = True
    await asyncio.wait_for(task, 10)
    # the server returned only once the lane's delivery ended: the spool can close now
    assert [orjson.loads(r.value)["callback"]["requestId"] for r in publisher.published] == [
        "lane-11"
    ]


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [(b"203.0.113.7", 200), (b"198.51.100.1, 203.0.113.7", 200), (b"198.51.100.1", 403)],
)
async def test_the_source_behind_a_trusted_proxy_is_its_forwarded_address(
    tmp_path: Path, publisher: FakePublisher, forwarded: bytes, expected: int
) -> None:
    projects = {KEY: ProjectConfig(callback_addr=ADDR, allowed_ips=("203.0.113.7",))}
    app = make_app(tmp_path, publisher, projects)
    await app.startup()
    try:
        async with serving(app, IngestProtocol) as lane:  # 127.0.0.1 is a trusted proxy
            [(head, _)] = await lane.exchange(
                post(valid(8), extra=b"x-forwarded-for: " + forwarded + b"\r\n")
            )
            kinds = lane.cycles()
            [(direct, _)] = await lane.exchange(post(valid(9)))
    finally:
        await app.shutdown()
    assert status(head) == expected
    # the lane itself found the forwarded address (a refusal goes the ASGI way)
    assert kinds in ((["_Lane"], []) if expected == 200 else ([RequestResponseCycle.__name__], []))
    assert status(direct) == 403  # 127.0.0.1 itself is not allowed
