"""From request bytes to either a Kafka record or a rejection: parse, validate, verify.

Pure except for the clock: the HTTP layer has already matched the project and checked the
body size, source address and content type. Exactly one pydantic validation per request;
the envelope embeds the callback as received (orjson-parsed dict), which validates back
into ``CallbackEnvelope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
    checksum,
    checksum_matches,
)
from schemas.identity import callback_key

# Outcomes as frozen dataclasses, alike in shape to other modules' records: plain data.
__all__ = ["Accepted", "CallbackVerifier", "Rejection"]


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
        try:
            callback = AgoraCallback.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False, include_context=False)
            return Rejection(
                422, "schema", "the callback does not match the schema", {"errors": errors}
            )
        received_at = now or datetime.now(UTC)
        if self._window is not None:
            skew = abs((received_at - callback.event_time).total_seconds())
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
        return Accepted(callback.requestId, record, status)

    def _checksum_status(self, callback: AgoraCallback) -> ChecksumStatus | None:
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
