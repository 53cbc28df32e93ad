"""Overturning a ``block`` calls the project's action webhook with ``unblock`` (signed as
moderation signs, once), before the decision is recorded; a webhook that fails leaves the
screenshot in the queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from processors.moderate.signing import SIGNATURE_HEADER, verify
from tests.integration.shotline.console.conftest import ConsoleServer, Seeded, project_config
from tests.integration.shotline.console.test_security import csrf_of, sign_in

pytestmark = [pytest.mark.kafka, pytest.mark.s3]

SECRET = "unblock-secret-for-tests"


class Receiver:
    """An app server's webhook endpoint on loopback: records every call, answers
    ``status``."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _console(console_factory: Any, seeded: Seeded, receiver: Receiver) -> ConsoleServer:
    hook = {"url": receiver.url, "secret_env": "SHOTLINE_TEST_UNBLOCK_SECRET", "attempts": 2}
    projects = {**seeded.projects, "alpha": project_config(seeded.bucket, hook)}
    server: ConsoleServer = console_factory(projects=projects, cookie_secure=False)
    return server


def test_overturned_block_is_sent_to_the_webhook_as_unblock(
    console_factory: Any, seeded: Seeded, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOTLINE_TEST_UNBLOCK_SECRET", SECRET)
    console = _console(console_factory, seeded, receiver)
    block = next(rid for rid in seeded.flagged["alpha"] if "-block-" in rid)
    review = next(rid for rid in seeded.flagged["alpha"] if "-review-" in rid)
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "alice")
        token = {"X-CSRF-Token": csrf_of(client)}
        answer = client.post(
            "/api/decisions",
            json={"request_id": block, "action": "overturn", "note": "a cartoon"},
            headers=token,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["decision"]["unblock"] == "sent"
        # overturning a review is no unblock
        answer = client.post(
            "/api/decisions", json={"request_id": review, "action": "overturn"}, headers=token
        )
        assert answer.json()["decision"]["unblock"] == "not_applicable"
        # deciding twice is refused
        again = client.post(
            "/api/decisions", json={"request_id": block, "action": "confirm"}, headers=token
        )
        assert again.status_code == 409
        history = client.get(f"/api/history/{block}").json()
    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    assert headers["Idempotency-Key"] == f"{block}:unblock"
    assert verify(SECRET.encode(), body, headers[SIGNATURE_HEADER])
    sent = orjson.loads(body)
    assert (sent["action"], sent["request_id"], sent["reviewer"]) == ("unblock", block, "alice")
    assert sent["verdict"]["verdict"] == "block"
    assert [d["action"] for d in history["decisions"]] == ["overturn"]
    assert [v["verdict"] for v in history["verdicts"]] == ["block"]
    metrics = console.app.metrics.registry
    labels = {"project": "alpha", "action": "overturn", "verdict": "block"}
    assert metrics.get_sample_value("shotline_console_decisions_total", labels) == 1.0


def test_a_failing_webhook_leaves_the_block_in_the_queue(
    console_factory: Any, seeded: Seeded, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOTLINE_TEST_UNBLOCK_SECRET", SECRET)
    receiver.status = 500
    console = _console(console_factory, seeded, receiver)
    block = next(rid for rid in seeded.flagged["alpha"] if "-block-" in rid)
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "alice")
        answer = client.post(
            "/api/decisions",
            json={"request_id": block, "action": "overturn"},
            headers={"X-CSRF-Token": csrf_of(client)},
        )
        assert answer.status_code == 502
        assert answer.json()["error"] == "webhook_failed"
        listed = {i["request_id"] for i in client.get("/api/queue").json()["items"]}
    assert block in listed
    assert len(receiver.calls) == 2  # the hook's attempts
