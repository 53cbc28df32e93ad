"""DLQ records keep the original bytes exactly, as text or base64."""

from __future__ import annotations

from datetime import UTC, datetime

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
