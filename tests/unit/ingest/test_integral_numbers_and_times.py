"""What ingest reads from a callback's numbers and times (docs/decisions/0008):

- an integer field written with a zero fraction or an exponent is that integer, read exactly
  (a 17-digit ``20190611073246070.0`` keeps every digit) and published as the integer;
  ``200.5``, booleans and integers beyond the schema's range stay refused;
- any 17-digit timestamp is accepted; when it is not a real time the screenshot's time is the
  object name's ``<utc>``, else the receive time, and a counter says so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from ingest.callbacks import Accepted, CallbackVerifier, Rejection
from schemas import AgoraCallback, ProjectConfig
from tests.unit.ingest.conftest import ADDR, KEY, FakePublisher, callback_body

URL = f"/v1/callbacks/{KEY}"
JSON = {"content-type": "application/json"}
NOW = datetime(2020, 4, 13, 8, 11, 30, 500_700, tzinfo=UTC)
SEED_OBJECT_UTC = datetime(2020, 4, 13, 8, 11, 28, 672_000, tzinfo=UTC)  # conftest's object


def body_with(raw_numbers: dict[str, str], **changes: Any) -> bytes:
    """A valid callback's JSON with the given fields written as the given number text."""
    body = callback_body(**changes)
    for name in raw_numbers:
        body[name] = f"@{name}@"
    text = orjson.dumps(body)
    for name, number in raw_numbers.items():
        text = text.replace(f'"@{name}@"'.encode(), number.encode())
    return text


async def post(client: httpx.AsyncClient, content: bytes) -> httpx.Response:
    return await client.post(URL, content=content, headers=JSON)


def published_callback(publisher: FakePublisher) -> dict[str, Any]:
    assert len(publisher.published) == 1
    callback: dict[str, Any] = orjson.loads(publisher.published[0].value)["callback"]
    return callback


@pytest.mark.parametrize("code", ["200.0", "200.000", "2e2", "2.0E+2", "20000e-2"])
async def test_a_code_with_a_zero_fraction_is_the_integer(
    client: httpx.AsyncClient, publisher: FakePublisher, code: str
) -> None:
    response = await post(client, body_with({"code": code}))
    assert response.status_code == 200, response.text
    published = published_callback(publisher)
    assert published["code"] == 200
    assert type(published["code"]) is int
    assert b'"code":200,' in publisher.published[0].value  # not 200.0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20190611073246070.0", 20190611073246070),  # a double would make it ...068 or ...072
        ("2.0190611073246070e16", 20190611073246070),
        ("99999999999999999.00", 99999999999999999),  # a double would make it 10^17
        ("1652693284123.0", 1652693284123),
    ],
)
async def test_a_timestamp_with_a_zero_fraction_is_read_exactly(
    client: httpx.AsyncClient, publisher: FakePublisher, text: str, value: int
) -> None:
    assert float(text) != value or value < 2**53  # the case orjson alone would get wrong
    response = await post(client, body_with({"timestamp": text}))
    assert response.status_code == 200, response.text
    assert published_callback(publisher)["timestamp"] == value


@pytest.mark.parametrize(
    "numbers",
    [
        {"code": "200.5"},
        {"code": "2.005e2"},
        {"code": "true"},
        {"code": "18446744073709551616.0"},  # 2^64: beyond the schema's maximum
        {"code": "1e30"},
        {"code": "1e300"},  # never made an int of 301 digits
        {"timestamp": "1652693284123.5"},
        {"timestamp": "20190611073246070.5"},
        {"timestamp": "1e17"},  # 18 digits
        {"timestamp": "true"},
    ],
)
async def test_a_number_that_is_not_an_integer_in_range_is_refused(
    client: httpx.AsyncClient, publisher: FakePublisher, numbers: dict[str, str]
) -> None:
    response = await post(client, body_with(numbers))
    assert response.status_code == 422
    assert response.json()["error"] == "schema"
    assert publisher.published == []


def verify(body: bytes, now: datetime = NOW, window_s: float | None = None) -> Accepted:
    verifier = CallbackVerifier(KEY, ProjectConfig(callback_addr=ADDR), "t", window_s)
    result = verifier.verify(body, b"", now=now)
    assert isinstance(result, Accepted), result
    return result


@pytest.mark.parametrize(
    ("changes", "time_source"),
    [
        ({"timestamp": 99999999999999998}, "object"),
        ({"timestamp": 20191311073246070}, "object"),  # month 13
        ({"timestamp": "20190230000000000"}, "object"),  # 30 February, as a string
        ({"timestamp": 99999999999999998, "object": "flat.jpg"}, "received"),
        ({"timestamp": 20190611073246070}, "timestamp"),  # readable: unchanged
        ({"timestamp": 1652693284123}, "timestamp"),
    ],
)
def test_any_17_digits_are_accepted_and_say_where_the_time_came_from(
    changes: dict[str, Any], time_source: str
) -> None:
    result = verify(orjson.dumps(callback_body(**changes)))
    assert result.time_source == time_source
    published = orjson.loads(result.record.value)["callback"]
    assert published["timestamp"] == changes["timestamp"]  # as received


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timestamp": 99999999999999998}, (SEED_OBJECT_UTC, "object")),
        (
            {"timestamp": 99999999999999998, "object": "flat.jpg"},
            (NOW.replace(microsecond=500_000), "received"),
        ),
        (
            {"timestamp": 20190611073246070},
            (datetime(2019, 6, 11, 7, 32, 46, 70_000, tzinfo=UTC), "timestamp"),
        ),
    ],
)
def test_the_screenshot_time_is_the_timestamp_else_the_object_else_the_receive_time(
    changes: dict[str, Any], expected: tuple[datetime, str]
) -> None:
    callback = AgoraCallback.model_validate(callback_body(**changes))
    assert callback.screenshot_time(NOW) == expected


def test_the_freshness_window_checks_the_time_that_was_used() -> None:
    from_object = orjson.dumps(callback_body(timestamp=99999999999999998))
    assert verify(from_object, window_s=5).time_source == "object"
    later = NOW.replace(minute=20)
    window = CallbackVerifier(KEY, ProjectConfig(callback_addr=ADDR), "t", freshness_window_s=5)
    stale = window.verify(from_object, b"", now=later)
    assert isinstance(stale, Rejection)
    assert stale.reason == "stale"
    received = orjson.dumps(callback_body(timestamp=99999999999999998, object="flat.jpg"))
    assert verify(received, now=later, window_s=5).time_source == "received"


async def test_unreadable_timestamps_are_counted_by_where_the_time_came_from(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    for changes in (
        {"timestamp": 99999999999999998},
        {"timestamp": "20191311073246070"},
        {"timestamp": 99999999999999998, "object": "flat.jpg"},
        {},
    ):
        assert (await post(client, orjson.dumps(callback_body(**changes)))).status_code == 200
    assert len(publisher.published) == 4
    text = (await client.get("/metrics")).text
    assert 'shotline_ingest_unreadable_timestamps_total{time_source="object"} 2.0' in text
    assert 'shotline_ingest_unreadable_timestamps_total{time_source="received"} 1.0' in text
    assert 'time_source="timestamp"' not in text
