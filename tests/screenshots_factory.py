"""Deduplicated screenshot records (``shotline.screenshots.v1``) for enrich tests: the i-th
screenshot of a project, taken and received at a given time (default now)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote_plus

import orjson

from processors.dedupe.logic import normalise
from schemas import AgoraCallback, CallbackEnvelope, ChecksumStatus, ScreenshotRecord, compact_utc


def object_key(i: int, at: datetime, prefix: str = "shots", cname: str = "room_1") -> str:
    utc = compact_utc(at)
    return f"{prefix}/{utc[:8]}/{i:032x}_{cname}__uid_s_42__uid_e_video_{utc}.jpg"


def screenshot(
    i: int, project: str = "p1", at: datetime | None = None, tag: str = "req"
) -> ScreenshotRecord:
    """requestId ``<tag>-<i>``; the object key is ``object_key(i, at)``."""
    shot = at or datetime.now(UTC)
    shot = shot.replace(microsecond=shot.microsecond // 1000 * 1000)  # ms precision
    callback = AgoraCallback(
        requestId=f"{tag}-{i}",
        callbackParam={"cname": "room_1"},
        callbackData="",
        checksum="0" * 32,
        object=object_key(i, shot),
        code=200,
        msg="Supervise complete",
        channelName="room_1",
        userId="42",
        timestamp=int(shot.timestamp() * 1000),
    )
    envelope = CallbackEnvelope(
        project=project, received_at=shot, checksum_status=ChecksumStatus.OK, callback=callback
    )
    return normalise(envelope, 60_000)


def s3_event(bucket: str, key: str, size: int, etag: str, sequencer: str | None = None) -> bytes:
    """A one-record S3 ObjectCreated notification as AWS shapes it (key URL-encoded)."""
    obj: dict[str, object] = {"key": quote_plus(key), "size": size, "eTag": etag}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    return orjson.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": bucket}, "object": obj},
                }
            ]
        }
    )
