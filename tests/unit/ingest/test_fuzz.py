"""Hostile and broken input: schemathesis against ``/openapi.json`` plus a table of bad
bodies. Every answer is JSON, nothing is 5xx but the intended 503, nothing is published, and
every answer passes schemathesis' own checks (a schema-valid body is not refused with 4xx, the
status and body are documented). ``tests/integration/ingest/test_openapi_conformance.py`` runs
the same checks through the CLI against a live ingest that accepts."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.unit.ingest.conftest import KEY, FakePublisher, callback_body, make_app

FUZZ_PUBLISHER = FakePublisher()


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    # schemathesis runs the app's lifespan (spool, fake publisher) in its own loop thread.
    app = make_app(tmp_path_factory.mktemp("fuzz"), FUZZ_PUBLISHER)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/callbacks/{key}", "POST"), ("/healthz", "GET"), ("/readyz", "GET")],
)
def test_fuzzed_requests_get_json_answers_and_publish_nothing(
    api_schema: schemathesis.BaseSchema, path: str, method: str
) -> None:
    operation = api_schema[path][method]
    strategy = operation.as_strategy() | operation.as_strategy(
        generation_mode=schemathesis.GenerationMode.NEGATIVE
    )
    answered: list[int] = []

    @given(case=strategy)
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        if case.path_parameters:
            case.path_parameters = {"key": KEY}  # reach validation, not only the 404
        response = case.call()
        case.validate_response(response)
        answered.append(response.status_code)
        assert response.status_code < 500 or response.status_code == 503
        assert isinstance(orjson.loads(response.content), dict)
        assert FUZZ_PUBLISHER.published == []

    run()
    assert answered


BAD_BODIES: list[tuple[str, bytes, str, int]] = [
    ("not json", b"hello", "application/json", 400),
    ("empty body", b"", "application/json", 400),
    ("truncated json", b'{"requestId": "a', "application/json", 400),
    ("json null", b"null", "application/json", 400),
    ("nested too deep", b"[" * 2000 + b"]" * 2000, "application/json", 400),
    ("wrong type code", orjson.dumps(callback_body(code="200")), "application/json", 422),
    ("wrong type object", orjson.dumps(callback_body(object=5)), "application/json", 422),
    ("bool timestamp", orjson.dumps(callback_body(timestamp=True)), "application/json", 422),
    (
        "float timestamp",
        orjson.dumps(callback_body(timestamp=1.5e12 + 0.5)),
        "application/json",
        422,
    ),
    ("fractional code", orjson.dumps(callback_body(code=200.5)), "application/json", 422),
    ("callbackParam list", orjson.dumps(callback_body(callbackParam=[1])), "application/json", 422),
    ("missing fields", b'{"code": 200}', "application/json", 422),
    ("huge body", b'{"a":"' + b"x" * 1_000_000 + b'"}', "application/json", 413),
    ("form encoded", b"requestId=1", "application/x-www-form-urlencoded", 415),
    ("json-ish type", orjson.dumps(callback_body()), "text/json", 415),
    ("bad checksum", orjson.dumps(callback_body(checksum="0" * 32)), "application/json", 401),
    ("checksum not hex", orjson.dumps(callback_body(checksum="zz")), "application/json", 401),
    ("non-ascii checksum", orjson.dumps(callback_body(checksum="é" * 32)), "application/json", 401),
]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
async def test_bad_input_gets_its_status_as_json_and_publishes_nothing(
    tmp_path: Path, content: bytes, content_type: str, status: int
) -> None:
    publisher = FakePublisher()
    app = make_app(tmp_path, publisher)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            response = await client.post(
                f"/v1/callbacks/{KEY}", content=content, headers={"content-type": content_type}
            )
    finally:
        await app.shutdown()
    assert response.status_code == status
    assert isinstance(response.json(), dict)
    assert publisher.published == []


async def test_uppercase_checksum_in_the_table_is_the_one_accepted_case(tmp_path: Path) -> None:
    publisher = FakePublisher()
    app = make_app(tmp_path, publisher)
    await app.startup()
    body = callback_body()
    body["checksum"] = body["checksum"].upper()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://i") as client:
            response = await client.post(f"/v1/callbacks/{KEY}", json=body)
    finally:
        await app.shutdown()
    assert response.status_code == 200
    assert len(publisher.published) == 1
