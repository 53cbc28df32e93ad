"""The record every processor's runner publishes to ``shotline.dlq.v1``.

It carries the cause (processor, error, attempts) and everything needed to put the original
record back where it came from: source topic, partition, offset, key, headers, and the exact
value bytes (as text when they are UTF-8, else base64). ``shotline dlq replay`` re-publishes
``value_bytes()`` to ``source_topic`` with ``source_key`` and the headers.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["DeadLetterRecord"]


class DeadLetterRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    processor: str
    error: str
    error_type: str
    attempts: int
    retriable: bool
    source_topic: str
    source_partition: int
    source_offset: int
    source_key: str | None
    source_timestamp_ms: int
    source_headers: dict[str, str]
    value_text: str | None = None
    value_base64: str | None = None
    first_failure_at: datetime
    last_failure_at: datetime

    @model_validator(mode="after")
    def _exactly_one_value_form(self) -> DeadLetterRecord:
        if (self.value_text is None) == (self.value_base64 is None):
            raise ValueError("exactly one of value_text and value_base64 must be set")
        return self

    @staticmethod
    def value_fields(value: bytes | None) -> dict[str, str]:
        """The value as ``value_text`` when it is UTF-8, else as ``value_base64``."""
        raw = value or b""
        try:
            return {"value_text": raw.decode("utf-8")}
        except UnicodeDecodeError:
            return {"value_base64": base64.b64encode(raw).decode("ascii")}

    def value_bytes(self) -> bytes:
        """The original value, byte for byte."""
        if self.value_text is not None:
            return self.value_text.encode("utf-8")
        try:
            return base64.b64decode(self.value_base64 or "", validate=True)
        except binascii.Error as exc:
            raise ValueError(f"value_base64 is not base64: {exc}") from exc
