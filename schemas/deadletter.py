"""The record every processor's runner publishes to ``shotline.dlq.v1``.

It carries the cause (processor, error, attempts) and everything needed to put the original
record back where it came from: source topic, partition, offset, key, headers, and the exact
value bytes (as text when they are UTF-8, else base64). ``shotline dlq replay`` re-publishes
``value_bytes()`` to ``source_topic`` with ``key_bytes()`` and ``header_bytes()``.

``schema_version`` 2 stores the key and every header value losslessly too (text when UTF-8,
else base64: ``source_key_base64``, ``source_header_values``), so a key that is not UTF-8
replays as the same key, hence to the same partition. Version 1 records (key and headers as
UTF-8 text with replacement characters) still parse and replay as before.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from schemas.envelope import headers_as_text

__all__ = ["DeadLetterRecord", "HeaderValue"]


def _text_or_base64(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(raw).decode("ascii")


def _unbase64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{what} is not base64: {exc}") from exc


class HeaderValue(BaseModel):
    """One original header, in order: its value as ``text`` (UTF-8) or ``base64``; both
    None for a null value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    text: str | None = None
    base64: str | None = None


class DeadLetterRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1, 2] = 2
    processor: str
    error: str
    error_type: str
    # why, in a word from a small set (rejected, retries_exhausted, unexpected, or the
    # processor's own: missing_object, access_denied, ...); None in records written before
    reason: str | None = None
    attempts: int
    retriable: bool
    source_topic: str
    source_partition: int
    source_offset: int
    source_key: str | None  # v2: None when the key is not UTF-8 (see source_key_base64)
    source_key_base64: str | None = None
    source_timestamp_ms: int
    source_headers: dict[str, str]  # readable form (UTF-8 with replacement)
    source_header_values: list[HeaderValue] | None = None  # v2: exact, in order
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
        text, b64 = _text_or_base64(value or b"")
        return {"value_text": text} if text is not None else {"value_base64": b64 or ""}

    @staticmethod
    def source_fields(
        key: bytes | None, headers: Sequence[tuple[str, bytes | None]]
    ) -> dict[str, object]:
        """``source_key``/``source_key_base64`` and both header forms, lossless (v2)."""
        key_text, key_b64 = _text_or_base64(key) if key is not None else (None, None)
        values = []
        for name, raw in headers:
            text, b64 = _text_or_base64(raw) if raw is not None else (None, None)
            values.append(HeaderValue(name=name, text=text, base64=b64))
        return {
            "source_key": key_text,
            "source_key_base64": key_b64,
            "source_headers": headers_as_text(headers),
            "source_header_values": values,
        }

    def value_bytes(self) -> bytes:
        """The original value, byte for byte."""
        if self.value_text is not None:
            return self.value_text.encode("utf-8")
        return _unbase64(self.value_base64 or "", "value_base64")

    def key_bytes(self) -> bytes | None:
        """The original key: byte for byte from v2 records; from v1 ones, its UTF-8 text."""
        if self.source_key_base64 is not None:
            return _unbase64(self.source_key_base64, "source_key_base64")
        return self.source_key.encode("utf-8") if self.source_key is not None else None

    def header_bytes(self) -> list[tuple[str, bytes | None]]:
        """The original headers: exact and in order from v2 records; from v1 ones, as text."""
        if self.source_header_values is None:
            return [(name, text.encode("utf-8")) for name, text in self.source_headers.items()]
        return [
            (
                h.name,
                _unbase64(h.base64, "header base64")
                if h.base64 is not None
                else h.text.encode("utf-8")
                if h.text is not None
                else None,
            )
            for h in self.source_header_values
        ]
