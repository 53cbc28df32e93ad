"""The callback route through ``httpx.ASGITransport``: every answer, what gets published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingest import IngestApp
from schemas import CallbackEnvelope, ProjectConfig
from tests.unit.ingest.conftest import (
    ADDR,
    KEY,
    SEED_OBJECT,
    SEED_REQUEST_ID,
    FakePublisher,
    callback_body,
    make_app,
)

URL = f"/v1/callbacks/{KEY}"
JSON_UTF8 = {"content-type": "application/json;charset=utf-8"}


async def post(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = kwargs.pop("headers", JSON_UTF8)
    return await client.post(kwargs.pop("url", URL), content=content, headers=headers)


async def test_valid_callback_is_published_as_an_envelope_keyed_by_its_object(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await post(client, callback_body())
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "requestId": SEED_REQUEST_ID, "via": "kafka"}
    [record] = publisher.published
    assert record.topic == "u.shotline.callbacks.v1"
    assert record.key == SEED_OBJECT.encode()  # the screenshot's identity (schemas.identity)
    envelope = CallbackEnvelope.model_validate_json(record.value)
    assert envelope.project == KEY
    assert envelope.checksum_status == "ok"
    assert envelope.callback.object == SEED_OBJECT
    headers = dict(record.headers)
    assert headers["shotline-project"] == KEY.encode()
    assert headers["traceparent"].startswith(b"00-")
    assert envelope.source == "agora"


async def test_callback_whose_object_is_not_agora_shaped_is_keyed_by_request_id(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await post(client, callback_body(object="uploads/not-a-screenshot.png"))
    assert response.status_code == 200
    [record] = publisher.published
    assert record.key == SEED_REQUEST_ID.encode()


async def test_incoming_traceparent_trace_id_is_propagated(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await post(client, callback_body(), headers={**JSON_UTF8, "traceparent": incoming})
    assert response.status_code == 200
    sent = dict(publisher.published[0].headers)["traceparent"].decode()
    assert sent.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert sent.split("-")[2] != "00f067aa0ba902b7"  # our own span id


async def test_uppercase_hex_checksum_is_accepted(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = callback_body()
    body["checksum"] = body["checksum"].upper()
    assert (await post(client, body)).status_code == 200
    assert len(publisher.published) == 1


@pytest.mark.parametrize("timestamp", [1652693284123, 20200413081128672, "1652693284123"])
async def test_both_timestamp_forms_are_accepted(
    client: httpx.AsyncClient, publisher: FakePublisher, timestamp: int | str
) -> None:
    assert (await post(client, callback_body(timestamp=timestamp))).status_code == 200
    assert len(publisher.published) == 1


async def test_plain_application_json_without_charset_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    headers = {"content-type": "Application/JSON"}
    assert (await post(client, callback_body(), headers=headers)).status_code == 200


BAD = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.mark.parametrize(
    ("content", "headers", "url", "status", "reason"),
    [
        (b"{not json", JSON_UTF8, URL, 400, "malformed_json"),
        (b"\xff\xfe", JSON_UTF8, URL, 400, "malformed_json"),
        (b"[1, 2]", JSON_UTF8, URL, 400, "not_an_object"),
        (b'"text"', JSON_UTF8, URL, 400, "not_an_object"),
        (orjson.dumps(callback_body(checksum=BAD)), JSON_UTF8, URL, 401, "checksum"),
        (orjson.dumps(callback_body()), JSON_UTF8, "/v1/callbacks/nope", 404, "unknown_project"),
        (b"{" + b" " * 70_000 + b"}", JSON_UTF8, URL, 413, "too_large"),
        (orjson.dumps(callback_body()), {"content-type": "text/plain"}, URL, 415, "content_type"),
        (orjson.dumps(callback_body()), {}, URL, 415, "content_type"),
        (orjson.dumps(callback_body(code="200")), JSON_UTF8, URL, 422, "schema"),
        (orjson.dumps(callback_body(timestamp=1652693284)), JSON_UTF8, URL, 422, "schema"),
        (orjson.dumps(callback_body(requestId="")), JSON_UTF8, URL, 422, "schema"),
        (orjson.dumps({"requestId": "x"}), JSON_UTF8, URL, 422, "schema"),
    ],
)
async def test_each_rejection_has_its_status_json_body_and_publishes_nothing(
    app: IngestApp,
    client: httpx.AsyncClient,
    publisher: FakePublisher,
    content: bytes,
    headers: dict[str, str],
    url: str,
    status: int,
    reason: str,
) -> None:
    response = await client.post(url, content=content, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == reason
    assert publisher.published == []
    metrics = (await client.get("/metrics")).text
    assert f'shotline_ingest_rejected_total{{reason="{reason}"}} 1.0' in metrics


async def test_schema_errors_list_fields_without_echoing_input(client: httpx.AsyncClient) -> None:
    response = await post(client, callback_body(code="secret-ish", userId=5))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {tuple(e["loc"]) for e in errors} == {("code",), ("userId",)}
    assert "secret-ish" not in response.text


async def test_seed_example_is_rejected_in_enforce_mode_and_accepted_when_checks_are_off(
    tmp_path: Path,
) -> None:
    seed = callback_body(checksum="75ee988XXXXXXc2ad4ec2aef58f178fd8")  # redacted in the docs
    projects = {
        "enforced": ProjectConfig(callback_addr=ADDR),
        "off": ProjectConfig(callback_addr=ADDR, checksum="off"),
        "logged": ProjectConfig(callback_addr=ADDR, checksum="log"),
    }
    publisher = FakePublisher()
    app = make_app(tmp_path, publisher, projects)
    await app.startup()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://i"
        ) as client:
            enforced = await post(client, seed, url="/v1/callbacks/enforced")
            off = await post(client, seed, url="/v1/callbacks/off")
            logged = await post(client, seed, url="/v1/callbacks/logged")
            metrics = (await client.get("/metrics")).text
    finally:
        await app.shutdown()
    assert (enforced.status_code, off.status_code, logged.status_code) == (401, 200, 200)
    envelopes = [CallbackEnvelope.model_validate_json(r.value) for r in publisher.published]
    statuses = [e.checksum_status for e in envelopes]
    assert statuses == ["skipped", "mismatch"]
    assert 'shotline_ingest_checksum_mismatch_total{mode="log"} 1.0' in metrics


async def test_source_ip_outside_the_allowlist_gets_403(tmp_path: Path) -> None:
    projects = {KEY: ProjectConfig(callback_addr=ADDR, allowed_ips=("10.0.0.0/8", "192.0.2.1"))}
    publisher = FakePublisher()
    app = make_app(tmp_path, publisher, projects)
    await app.startup()
    try:
        answers = []
        for ip in ("203.0.113.7", "10.1.2.3", "192.0.2.1"):
            transport = httpx.ASGITransport(app=app, client=(ip, 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
                answers.append((await post(client, callback_body())).status_code)
    finally:
        await app.shutdown()
    assert answers == [403, 200, 200]
    assert len(publisher.published) == 2


async def test_screenshot_time_outside_the_freshness_window_gets_422_stale(
    tmp_path: Path,
) -> None:
    publisher = FakePublisher()
    app = make_app(tmp_path, publisher, freshness_window_s=3600)
    await app.startup()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://i"
        ) as client:
            response = await post(client, callback_body())  # 2019: far outside
    finally:
        await app.shutdown()
    assert response.status_code == 422
    assert response.json()["error"] == "stale"
    assert publisher.published == []


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", URL, 405),
        ("GET", "/", 404),
        ("POST", "/healthz", 405),
        ("GET", "/v2/anything", 404),
        ("GET", "/healthz", 200),
        ("GET", "/readyz", 200),
        ("GET", "/openapi.json", 200),
    ],
)
async def test_every_other_route_answers_json(
    client: httpx.AsyncClient, method: str, url: str, status: int
) -> None:
    response = await client.request(method, url)
    assert response.status_code == status
    assert isinstance(response.json(), dict)


async def test_metrics_count_requests_by_status_and_observe_latency(
    client: httpx.AsyncClient,
) -> None:
    await post(client, callback_body())
    await post(client, b"nope")
    text = (await client.get("/metrics")).text
    assert 'shotline_ingest_requests_total{reason="ok",status="200"} 1.0' in text
    assert 'shotline_ingest_requests_total{reason="malformed_json",status="400"} 1.0' in text
    assert "shotline_ingest_request_duration_seconds_count 2.0" in text
    assert 'shotline_ingest_accepted_total{via="kafka"} 1.0' in text


async def test_logs_never_carry_the_project_key_or_callback_bodies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = FakePublisher()
    publisher.down = True  # the spool path logs warnings: they must stay clean too
    app = make_app(tmp_path, publisher, publish_rejected=True)
    caplog.set_level("DEBUG")
    await app.startup()
    secret_body = callback_body(requestId="req-private-123", callbackData="private-data")
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            assert (await post(client, secret_body)).status_code == 200
            assert (await post(client, {**secret_body, "checksum": BAD})).status_code == 401
            assert (await post(client, {**secret_body, "code": "x"})).status_code == 422
            await post(client, secret_body, url="/v1/callbacks/guessed-key-xyz")
    finally:
        await app.shutdown()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("shotline"))
    assert ours  # the outage was logged, so the check below means something
    for secret in (KEY, "guessed-key-xyz", "req-private-123", "private-data", ADDR):
        assert secret not in ours


async def test_an_unexpected_error_still_answers_json(
    app: IngestApp, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = app.service.projects[KEY].verifier

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(verifier, "verify", broken)
    response = await post(client, callback_body())
    assert response.status_code == 500
    assert response.json() == {"status": "error", "error": "internal"}
