"""Schemathesis hooks for fuzzing ingest against its own ``/openapi.json``.

The document states what ingest accepts as exactly as JSON Schema 2020-12 can. Two rules it
cannot express are written in its descriptions (and their 422 documented) and taught to the
generator here, which is schemathesis' documented remedy for runtime rules a schema cannot
state:

- integers are written as integers: ``2.0`` is the same JSON Schema integer as ``2`` (and
  schemathesis sends both for OpenAPI 3.1), but the callback model is strict and refuses it;
- the digits of a 17-digit numeric ``timestamp`` form a real UTC time.

Only values the schema admits are rewritten, into values it still admits, so negative cases
stay negative. Load with ``SCHEMATHESIS_HOOKS=tests/schemathesis_hooks.py``.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from schemas import TimestampError
from schemas.timestamps import parse_compact_utc

COMPACT_NUMBER_MIN = 10000101000000000  # the schema's bounds for a 17-digit number
COMPACT_NUMBER_MAX = 99991231235959999
INTEGER_FIELDS = ("code", "timestamp")


def real_compact_time(value: int) -> int:
    """``value`` if its digits are a real yyyyMMddHHmmssSSS time, else one that is (same year
    and milliseconds, the other fields folded into range)."""
    text = str(value)
    try:
        parse_compact_utc(text)
        return value
    except TimestampError:
        pass
    month, day = int(text[4:6]) % 12 + 1, int(text[6:8]) % 28 + 1
    hour, minute, second = int(text[8:10]) % 24, int(text[10:12]) % 60, int(text[12:14]) % 60
    return int(f"{text[:4]}{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}{text[14:]}")


def as_ingest_reads_it(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the two unstated rules applied (see the module docstring)."""
    body = dict(body)
    for field in INTEGER_FIELDS:
        value = body.get(field)
        if type(value) is float and value.is_integer():
            body[field] = int(value)
    stamp = body.get("timestamp")
    if type(stamp) is int and COMPACT_NUMBER_MIN <= stamp <= COMPACT_NUMBER_MAX:
        body["timestamp"] = real_compact_time(stamp)
    return body


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    return as_ingest_reads_it(body) if isinstance(body, dict) else body
