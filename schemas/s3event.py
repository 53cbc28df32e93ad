"""The S3 event notification document carried by ``shotline.s3events.v1`` (key ``bucket/key``).

The standard shape AWS S3 sends to SQS/SNS and that S3-compatible stores publish themselves
(RustFS, versitygw, Ceph RGW, MinIO's ``notify_kafka``): ``{"Records": [...]}`` with, per
record, ``eventName``, ``eventTime`` and ``s3.bucket.name`` / ``s3.object.{key, size, eTag,
versionId, sequencer}``. The object key is URL-encoded (``+`` for a space, as AWS and moto
send it); ``object_key`` decodes it. MinIO adds ``contentType`` to the object; AWS does not,
so ``content_type`` is None there. Unknown fields are ignored: stores add their own.

Records ``shotline s3-events`` publishes hold exactly one event record each.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "S3Event",
    "S3EventBucket",
    "S3EventDocument",
    "S3EventEntity",
    "S3EventObject",
    "split_notification",
]


class S3EventBucket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str


class S3EventObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    key: str = Field(description="URL-encoded, as S3 sends it.")
    size: int = Field(default=0, ge=0)
    etag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = Field(
        default=None, description="Hex; orders the events of one key (compare padded)."
    )
    content_type: str | None = Field(default=None, alias="contentType")


class S3EventEntity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bucket: S3EventBucket
    object: S3EventObject


class S3Event(BaseModel):
    """One event record (``Records[i]``)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    event_name: str = Field(alias="eventName", description="e.g. ObjectCreated:Put.")
    event_time: datetime = Field(alias="eventTime")
    event_source: str = Field(default="aws:s3", alias="eventSource")
    s3: S3EventEntity

    @property
    def bucket(self) -> str:
        return self.s3.bucket.name

    @property
    def object_key(self) -> str:
        """The object key, decoded."""
        return unquote_plus(self.s3.object.key)

    @property
    def created(self) -> bool:
        """An ObjectCreated event (``s3:`` prefix or not); ObjectRemoved and others are not."""
        return self.event_name.removeprefix("s3:").startswith("ObjectCreated")

    @property
    def removed(self) -> bool:
        return self.event_name.removeprefix("s3:").startswith("ObjectRemoved")


class S3EventDocument(BaseModel):
    """The whole notification: what SQS message bodies and the topic's records hold."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    records: list[S3Event] = Field(default_factory=list, alias="Records")

    def kafka_key(self, index: int = 0) -> str:
        """``bucket/key`` (decoded) of one record: the topic's key."""
        event = self.records[index]
        return f"{event.bucket}/{event.object_key}"


def split_notification(body: bytes | str) -> list[tuple[str, bytes]] | None:
    """An SQS message body as ``(bucket/key, one-record document)`` pairs for the topic.

    Accepts an S3 notification (``{"Records": [...]}``), the same wrapped in an SNS
    notification (``"Type": "Notification"``, ``"Message"`` a JSON string), and S3's
    ``s3:TestEvent`` (no records: ``[]``). None when the body is none of these."""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and doc.get("Type") == "Notification":
            doc = json.loads(doc.get("Message", ""))
    except (ValueError, TypeError):
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("Event") == "s3:TestEvent":
        return []
    raw_records = doc.get("Records")
    if not isinstance(raw_records, list):
        return None
    out: list[tuple[str, bytes]] = []
    for raw in raw_records:
        try:
            event = S3Event.model_validate(raw)
        except ValidationError:
            return None
        single = json.dumps({"Records": [raw]}, separators=(",", ":")).encode()
        out.append((f"{event.bucket}/{event.object_key}", single))
    return out
