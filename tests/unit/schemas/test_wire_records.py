"""``schemas.wire``'s twins of the screenshot and enriched records are never more lenient
than ``ScreenshotRecord`` / ``EnrichedScreenshot`` and never say otherwise.

For every input: either the twin declines (``None``: the model decides), or the model
accepts the same bytes, the values are equal, and ``encode`` of the twin gives the model's
JSON byte for byte.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from processors.dedupe.logic import normalise
from schemas import EnrichedScreenshot, S3ObjectFacts, ScreenshotRecord
from schemas.wire import decode_enriched, decode_screenshot, encode
from tests.callbacks_factory import envelope
from tests.strategies import json_values


def _screenshot() -> ScreenshotRecord:
    return normalise(envelope(3, cname="Zimmer_ß_🙂", uid="ü-7"), 60_000)


def _enriched(**facts: Any) -> EnrichedScreenshot:
    shot = _screenshot()
    s3 = S3ObjectFacts(
        bucket="b",
        key=shot.callback.object,
        size=1234,
        etag="0" * 32,
        content_type="image/jpeg",
        last_modified=datetime(2026, 3, 1, 12, 0, 1, 250000, tzinfo=UTC),
        source="event",
        **facts,
    )
    return EnrichedScreenshot(**shot.model_dump(exclude={"schema_version"}), s3=s3)


def _check(model: type[BaseModel], data: bytes) -> object | None:
    """The invariant for one input; returns what the twin made of it."""
    decode = decode_enriched if model is EnrichedScreenshot else decode_screenshot
    wire = decode(data)
    if wire is None:
        return None
    try:
        validated = model.model_validate_json(data)
    except ValidationError as exc:  # pragma: no cover - this is the failure being tested for
        pytest.fail(f"the twin accepted what the model refuses: {data!r}: {exc}")
    assert encode(wire) == validated.model_dump_json().encode(), data
    assert wire.request_id == validated.request_id  # type: ignore[attr-defined]
    assert wire.received_at == validated.received_at  # type: ignore[attr-defined]
    assert wire.received_at.utcoffset() == validated.received_at.utcoffset()  # type: ignore[attr-defined]
    return wire


def _variant(record: BaseModel, **changes: Any) -> bytes:
    """``record``'s JSON with fields changed: ``cb_x`` in the callback, ``obj_x`` in the
    object name, ``s3_x`` in the S3 facts, ``c_x`` in consistency."""
    body: dict[str, Any] = orjson.loads(record.model_dump_json())
    places = {"cb_": "callback", "obj_": "object", "s3_": "s3", "c_": "consistency"}
    for key, value in changes.items():
        target = body
        name = key
        for prefix, field in places.items():
            if key.startswith(prefix) and isinstance(body.get(field), dict):
                target, name = body[field], key.removeprefix(prefix)
                break
        if value is _DELETE:
            target.pop(name, None)
        else:  # a copy: hypothesis may hand the same {} to two fields
            target[name] = copy.deepcopy(value)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


_DELETE = object()


def test_what_dedupe_and_enrich_write_takes_the_fast_path() -> None:
    assert _check(ScreenshotRecord, _screenshot().model_dump_json().encode()) is not None
    for facts in ({}, {"version_id": "v1"}):
        assert _check(EnrichedScreenshot, _enriched(**facts).model_dump_json().encode())
    shot = _screenshot()
    no_object = EnrichedScreenshot(**shot.model_dump(exclude={"schema_version"}), s3=None)
    assert _check(EnrichedScreenshot, no_object.model_dump_json().encode()) is not None


ACCEPTED_BY_BOTH = [
    {"received_at": "2026-03-01T13:00:11.123456+01:00"},
    {"event_time": "2026-03-01T12:00:11"},  # naive stays naive in both
    {"obj_utc": "2026-03-01T12:00:11.5Z"},
    {"s3_last_modified": "2026-03-01T12:00:11-00:00"},
    {"object": None, "object_error": "no .jpg", "c_channel_matches": None},
    {"time_source": "object", "cb_timestamp": "20261399000000000"},
    {"source": "reconciler"},
    {"s3_content_type": None, "s3_source": "head"},
    {"s3": None},
    {"s3_version_id": _DELETE, "time_source": _DELETE, "source": _DELETE},
    {"c_time_skew_ms": -5},
]


@pytest.mark.parametrize("changes", ACCEPTED_BY_BOTH)
def test_forms_both_accept_give_the_same_values_and_output(changes: dict[str, Any]) -> None:
    assert _check(EnrichedScreenshot, _variant(_enriched(), **changes)) is not None
    if not any(k.startswith("s3") for k in changes):
        assert _check(ScreenshotRecord, _variant(_screenshot(), **changes)) is not None


DECLINED = [
    {"received_at": "2026-03-01T12:00:11.1234567Z"},  # msgspec would round, pydantic truncates
    {"obj_utc": "2026-03-01T12:00:11.1234567Z"},
    {"s3_last_modified": "2026-03-01T12:00:11.1234567Z"},
    {"event_time": "2026-03-01"},  # the model takes these; the twin leaves them to it
    {"received_at": 1772366411},
    {"c_time_skew_ms": 5.0},
    {"c_uid_matches": "true"},
    {"cb_timestamp": 1772366411},  # Unix seconds: the model refuses
    {"cb_extra": 1},  # a sender's extra the model keeps
    {"s3_size": -1},
    {"s3_content_type": _DELETE},  # required without a default
    {"s3_source": "list"},
    {"time_source": "guess"},
    {"schema_version": 2},
    {"unknown": 1},
    {"s3_unknown": 1},
    {"obj_unknown": 1},
]


@pytest.mark.parametrize("changes", DECLINED)
def test_forms_the_twin_declines_are_left_to_the_model(changes: dict[str, Any]) -> None:
    assert _check(EnrichedScreenshot, _variant(_enriched(), **changes)) is None


def test_the_screenshot_twin_refuses_an_enriched_record() -> None:
    data = _enriched().model_dump_json().encode()
    assert decode_screenshot(data) is None
    with pytest.raises(ValidationError):
        ScreenshotRecord.model_validate_json(data)


_fields = st.sampled_from(
    [
        *orjson.loads(_enriched().model_dump_json()),
        *(f"cb_{name}" for name in orjson.loads(_screenshot().callback.model_dump_json())),
        *(f"obj_{name}" for name in ("prefix", "sid", "utc")),
        *(f"s3_{name}" for name in ("size", "etag", "last_modified", "version_id", "source")),
        *(f"c_{name}" for name in ("time_matches", "time_skew_ms")),
    ]
)
_special = st.sampled_from(
    [
        _DELETE,
        "2026-03-01T12:00:11.123456+05:30",
        "2026-03-01T12:00:11.1234561Z",
        "9999-12-31T23:59:59.999999Z",
        "head",
        "object",
        2**63,
        -1,
        {},
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_fields, json_values | _special, min_size=1, max_size=3))
def test_random_mutations_never_split_the_twins_from_the_models(changes: dict[str, Any]) -> None:
    _check(EnrichedScreenshot, _variant(_enriched(), **changes))
    _check(ScreenshotRecord, _variant(_screenshot(), **changes))
