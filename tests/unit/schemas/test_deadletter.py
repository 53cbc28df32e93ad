"""DLQ records keep the original bytes exactly, as text or base64."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from schemas import DeadLetterRecord

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def letter(value: bytes) -> DeadLetterRecord:
    return DeadLetterRecord(
        processor="p",
        error="e",
        error_type="T",
        attempts=1,
        retriable=False,
        source_topic="t",
        source_partition=0,
        source_offset=1,
        source_key="k",
        source_timestamp_ms=0,
        source_headers={},
        first_failure_at=NOW,
        last_failure_at=NOW,
        **DeadLetterRecord.value_fields(value),
    )


@pytest.mark.parametrize("value", [b'{"a": 1}', "é✓".encode(), b"\x00\xff\x80", b""])
def test_value_survives_the_json_round_trip_byte_for_byte(value: bytes) -> None:
    again = DeadLetterRecord.model_validate_json(letter(value).model_dump_json())
    assert again.value_bytes() == value


def test_a_record_with_both_or_neither_value_form_is_refused() -> None:
    data = letter(b"x").model_dump()
    with pytest.raises(ValidationError, match="exactly one"):
        DeadLetterRecord.model_validate({**data, "value_base64": "eA=="})
    with pytest.raises(ValidationError, match="exactly one"):
        DeadLetterRecord.model_validate({**data, "value_text": None})


def test_a_dead_letter_keeps_a_non_utf8_key_and_headers_byte_for_byte() -> None:
    from processors.runner.codec import Raw, dead_letter

    key = b"req-\xff\xfe"
    headers = [("shotline-project", b"demo"), ("bin", b"\x80\x00"), ("bin", b"x"), ("nul", None)]
    raw = Raw("t", 2, 7, key, b"\xc3(", 5, headers)  # type: ignore[arg-type]
    encoded = dead_letter("p", raw, "e", "T", 1, False, NOW, "dlq")
    stored = DeadLetterRecord.model_validate_json(encoded.value)
    assert stored.schema_version == 2
    assert stored.key_bytes() == key
    assert stored.header_bytes() == headers
    assert stored.value_bytes() == b"\xc3("
    assert stored.source_headers["shotline-project"] == "demo"  # still readable


def test_a_schema_version_1_letter_still_parses_and_replays_its_text_key() -> None:
    v1 = letter(b"v").model_dump(exclude={"source_key_base64", "source_header_values"})
    v1 |= {"schema_version": 1, "source_headers": {"h": "x"}}
    old = DeadLetterRecord.model_validate_json(orjson.dumps(v1, default=str))
    assert old.key_bytes() == b"k"
    assert old.header_bytes() == [("h", b"x")]
