"""From request bytes to either a Kafka record or a rejection: parse, validate, verify.

Pure except for the clock: the HTTP layer has already matched the project and checked the
body size, source address and content type. The body is validated once: by msgspec's twin
of the model (``schemas.wire.decode_callback``) where it vouches for the body, which is the
common case and about 5 µs cheaper, else by the pydantic model, which judges everything
unusual (extras, floats, refusals) and words the 422 (``tests/unit/ingest/test_twin.py``
holds both to the same answers and records). The envelope embeds the callback as received
(orjson-parsed dict), which validates back into ``CallbackEnvelope``.

An integer field (``code``, ``timestamp``) written with a zero fraction or an exponent
(``200.0``, ``2e2``) is the integer to JSON Schema, and ingest takes it as that integer: such a
body is read a second time with the standard library's parser and ``Decimal`` numbers, so a
17-digit ``20190611073246070.0`` keeps every digit (orjson's float would round it), and the
record carries the integer. Only that rare body pays for the second parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import ValidationError

from ingest.records import OutRecord
from schemas import (
    HEADER_PROJECT,
    HEADER_TRACEPARENT,
    AgoraCallback,
    ChecksumMode,
    ChecksumStatus,
    ProjectConfig,
    TimeSource,
    checksum,
    checksum_matches,
)
from schemas.callback import screenshot_time
from schemas.identity import callback_key
from schemas.wire import WireCallback, decode_callback

_twin = decode_callback  # tests replace it to hold both paths to the same results

# Outcomes as frozen dataclasses, alike in shape to other modules' records: plain data.
__all__ = ["Accepted", "CallbackVerifier", "Rejection", "integral_numbers"]

INTEGER_FIELDS = ("code", "timestamp")
# The callback's integers are at most 64 bits (orjson's and the record's range); a Decimal
# is turned into an int only when it has at most 20 digits, so "1e300" never becomes one of
# 301 digits.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def integral_numbers(body: bytes, raw: dict[str, Any]) -> None:
    """Put the exact integer in ``raw`` (orjson's parse of ``body``) for each integer field
    orjson read as a float with a zero fraction: ``200.0`` → ``200``. Others stay floats, which
    the model refuses (``200.5``, or beyond 64 bits)."""
    try:
        exact = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError):  # orjson read it: only the stdlib's own limits
        return
    if not isinstance(exact, dict):
        return
    for field in INTEGER_FIELDS:
        value = exact.get(field)
        if (
            type(raw.get(field)) is float
            and isinstance(value, Decimal)
            and value.is_finite()
            and value.adjusted() < 20  # fewer than 21 digits before the point
            and value == value.to_integral_value()
            and _INT_MIN <= (number := int(value)) <= _INT_MAX
        ):
            raw[field] = number


@dataclass(frozen=True, slots=True)
class Rejection:
    """An answer other than 200: status, a bounded ``reason`` label and extra JSON fields."""

    status: int
    reason: str
    detail: str
    extra: dict[str, Any] | None = None

    def body(self) -> bytes:
        payload: dict[str, Any] = {"status": "error", "error": self.reason, "detail": self.detail}
        if self.extra:
            payload.update(self.extra)
        return orjson.dumps(payload)


@dataclass(frozen=True, slots=True)
class Accepted:
    request_id: str
    record: OutRecord
    checksum_status: ChecksumStatus
    time_source: TimeSource = "timestamp"  # else the timestamp was unreadable (ADR 0008)


class CallbackVerifier:
    """Checks one project's callbacks and builds the envelope record for the topic."""

    def __init__(
        self,
        key: str,
        project: ProjectConfig,
        topic: str,
        freshness_window_s: float | None = None,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self.key = key
        self.project = project
        self._topic = topic
        self._window = freshness_window_s
        self._project_header = (HEADER_PROJECT, key.encode())

    def verify(
        self, body: bytes, traceparent: bytes, now: datetime | None = None
    ) -> Accepted | Rejection:
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError:
            return Rejection(400, "malformed_json", "the body is not valid UTF-8 JSON")
        if not isinstance(raw, dict):
            return Rejection(400, "not_an_object", "the body must be a JSON object")
        callback: AgoraCallback | WireCallback | None = None
        if type(raw.get("code")) is float or type(raw.get("timestamp")) is float:
            integral_numbers(body, raw)  # rare: 200.0 is the integer 200
        else:
            callback = _twin(body)  # the common case: msgspec's twin vouches for the body
        if callback is None:
            try:
                callback = AgoraCallback.model_validate(raw)
            except ValidationError as exc:
                errors = exc.errors(include_url=False, include_input=False, include_context=False)
                return Rejection(
                    422, "schema", "the callback does not match the schema", {"errors": errors}
                )
        received_at = now or datetime.now(UTC)
        event_time, time_source = screenshot_time(callback.timestamp, callback.object, received_at)
        if self._window is not None:
            skew = abs((received_at - event_time).total_seconds())
            if skew > self._window:
                return Rejection(
                    422,
                    "stale",
                    f"screenshot time is {skew:.0f}s from now (window {self._window:.0f}s)",
                )
        status = self._checksum_status(callback)
        if status is None:
            return Rejection(401, "checksum", "checksum does not match this project")
        envelope = {
            "schema_version": 1,
            "project": self.key,
            "received_at": received_at,
            "checksum_status": status.value,
            "callback": raw,
        }
        record = OutRecord(
            self._topic,
            # the screenshot's identity (object name, else requestId): schemas.identity
            callback_key(callback.object, callback.requestId).encode(),
            orjson.dumps(envelope),
            (self._project_header, (HEADER_TRACEPARENT, traceparent)),
        )
        return Accepted(callback.requestId, record, status, time_source)

    def _checksum_status(self, callback: AgoraCallback | WireCallback) -> ChecksumStatus | None:
        """OK, MISMATCH (accepted in ``log`` mode), SKIPPED, or None to reject."""
        mode = self.project.checksum
        if mode is ChecksumMode.OFF:
            return ChecksumStatus.SKIPPED
        expected = checksum(
            self.project.callback_addr,
            callback.code,
            callback.object,
            callback.requestId,
            self.project.checksum_template,
        )
        if checksum_matches(expected, callback.checksum):
            return ChecksumStatus.OK
        return ChecksumStatus.MISMATCH if mode is ChecksumMode.LOG else None
