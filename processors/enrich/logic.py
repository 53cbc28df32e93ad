"""Pure logic of enrichment: where a screenshot's object is, facts from an event or a
HeadObject answer, the enriched record, HeadObject outcomes. (Backoff and the token bucket
are ``processors.pacing``'s, shared with moderation.)

No I/O: the handler and the client adapter wire these to Kafka and S3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from schemas import EnrichedScreenshot, ProjectConfig, S3ObjectFacts, ScreenshotRecord
from schemas.s3event import S3Event
from schemas.wire import WireEnriched, WireS3Facts, WireScreenshot
from schemas.wire import encode as encode_wire

__all__ = [
    "Denied",
    "Found",
    "HeadOutcome",
    "Missing",
    "ObjectEvent",
    "Transient",
    "enriched",
    "enriched_json",
    "facts_from_head",
    "location",
    "newer_sequencer",
]


def location(
    record: ScreenshotRecord | WireScreenshot, project: ProjectConfig | None
) -> tuple[str, str] | None:
    """``(bucket, key)`` of the screenshot's object, or None when there is nothing to look
    up: unknown project, no bucket configured, or an object name that did not parse. The
    callback's ``object`` is the key as Agora wrote it (Console prefix included). The model
    or its ``schemas.wire`` twin (the fast path's)."""
    if project is None or not project.bucket or record.object is None:
        return None
    key = record.callback.object.lstrip("/")
    return (project.bucket, key) if key else None


class ObjectEvent(NamedTuple):
    """What enrich takes from one S3 event record (``S3Event``): the event's name, where
    the object is (key decoded) and its facts. Built from the model (``of``) or by the event
    feed's msgspec twin (``s3wire``), alike."""

    name: str
    bucket: str
    key: str
    size: int
    etag: str  # without the surrounding quotes
    content_type: str | None
    last_modified: datetime  # the event's time, in UTC
    version_id: str | None
    sequencer: str | None

    @classmethod
    def of(cls, event: S3Event) -> ObjectEvent:
        obj = event.s3.object
        return cls(
            event.event_name,
            event.bucket,
            event.object_key,
            obj.size,
            (obj.etag or "").strip('"'),
            obj.content_type,
            event.event_time.astimezone(UTC),
            obj.version_id,
            obj.sequencer,
        )

    @property
    def created(self) -> bool:
        """An ObjectCreated event (``s3:`` prefix or not); ObjectRemoved and others are not."""
        return self.name.removeprefix("s3:").startswith("ObjectCreated")

    @property
    def removed(self) -> bool:
        return self.name.removeprefix("s3:").startswith("ObjectRemoved")


def facts_from_head(bucket: str, key: str, answer: Mapping[str, Any]) -> S3ObjectFacts:
    """Facts from boto3's ``head_object`` response dict."""
    modified = answer.get("LastModified")
    if not isinstance(modified, datetime):
        modified = datetime.now(UTC)
    return S3ObjectFacts(
        bucket=bucket,
        key=key,
        size=int(answer.get("ContentLength", 0)),
        etag=str(answer.get("ETag", "")).strip('"'),
        content_type=answer.get("ContentType") or None,
        last_modified=modified.astimezone(UTC),
        version_id=answer.get("VersionId") or None,
        source="head",
    )


def enriched(record: ScreenshotRecord, facts: S3ObjectFacts | None) -> EnrichedScreenshot:
    """The output record; built without re-validating fields that were validated on input."""
    return EnrichedScreenshot.model_construct(**dict(record.__dict__, s3=facts))


# ``EnrichedScreenshot`` is ``ScreenshotRecord`` plus ``s3``, declared last (the twins follow
# the models' field order, checked by ``schemas.wire`` at import): so the enriched JSON is
# the screenshot's with ``"s3"`` appended, and no enriched record need be built per output.
if WireEnriched.__struct_fields__ != (*WireScreenshot.__struct_fields__, "s3"):
    raise RuntimeError("WireEnriched is no longer WireScreenshot's fields followed by s3")


def enriched_json(screenshot_json: bytes, facts: WireS3Facts | None) -> bytes:
    """The JSON of ``enriched(screenshot, facts)`` from the screenshot's JSON as its model
    (or ``schemas.wire.encode`` of its twin) writes it, and the facts' twin: the bytes the
    regular path's ``model_construct`` and serialisation give."""
    return b"".join((screenshot_json[:-1], b',"s3":', encode_wire(facts), b"}"))


def newer_sequencer(candidate: str | None, current: str | None) -> bool:
    """Whether an event with ``candidate`` supersedes one with ``current``: S3 sequencers
    are hex strings compared after left-padding to the same length; events without one
    (moto) count as newer."""
    if candidate is None or current is None:
        return True
    width = max(len(candidate), len(current))
    return candidate.upper().rjust(width, "0") >= current.upper().rjust(width, "0")


@dataclass(frozen=True, slots=True)
class Found:
    facts: S3ObjectFacts


@dataclass(frozen=True, slots=True)
class Missing:
    """404: the object is not (yet) there."""


@dataclass(frozen=True, slots=True)
class Denied:
    """403 / AccessDenied / InvalidAccessKeyId: retrying will not help."""

    error: str


@dataclass(frozen=True, slots=True)
class Transient:
    """5xx, SlowDown, throttling, timeouts, connection errors: retry with backoff."""

    error: str


HeadOutcome = Found | Missing | Denied | Transient
