"""The callback the reconciler publishes for a screenshot whose real one never arrived.

It is the envelope ingest would have written, marked ``source="reconciler"``, keyed like
ingest keys it (the object name: ``schemas.identity``), so dedupe treats it, the real
callback arriving late, and a later run's copy as one screenshot. Its requestId is
deterministic, ``reconciler-`` and 32 hex of BLAKE2b over ``<bucket>/<key>``: a second run
publishes the same id, and the stages that are idempotent on requestId stay so. Channel,
uid and time come from the object name; ``checksum`` is computed with the project's template
(so the record is self-consistent) and ``checksum_status`` is ``skipped``: nobody sent a
checksum to verify.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from schemas import (
    HEADER_PROJECT,
    HEADER_TRACEPARENT,
    AgoraCallback,
    CallbackEnvelope,
    ChecksumStatus,
    ProjectConfig,
    checksum,
)
from schemas.objectname import object_name_fields

__all__ = ["headers", "reconciled_envelope", "reconciled_request_id"]

_COMPLETE = 200  # Agora's code for a completed upload ("Supervise complete")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def reconciled_request_id(bucket: str, key: str) -> str:
    digest = hashlib.blake2b(f"{bucket}/{key}".encode(), digest_size=16).hexdigest()
    return f"reconciler-{digest}"


def reconciled_envelope(
    project_key: str, project: ProjectConfig, bucket: str, key: str, now: datetime
) -> CallbackEnvelope:
    """The envelope for object ``key`` of ``bucket`` (a name that parses; ``now``: when it
    was published, the envelope's ``received_at``)."""
    name = object_name_fields(key)
    request_id = reconciled_request_id(bucket, key)
    callback = AgoraCallback(
        requestId=request_id,
        callbackParam={"cname": name["cname"]},
        callbackData="",
        checksum=checksum(
            project.callback_addr, _COMPLETE, key, request_id, project.checksum_template
        ),
        object=key,
        code=_COMPLETE,
        msg="Supervise complete",
        channelName=name["cname"],
        userId=name["uid"],
        timestamp=(name["utc"] - _EPOCH) // _MS,  # Unix ms, exact
    )
    return CallbackEnvelope(
        project=project_key,
        received_at=now,
        checksum_status=ChecksumStatus.SKIPPED,
        callback=callback,
        source="reconciler",
    )


def headers(project_key: str, traceparent: bytes) -> list[tuple[str, bytes]]:
    """The record headers ingest sets: project and a fresh W3C traceparent."""
    return [(HEADER_PROJECT, project_key.encode()), (HEADER_TRACEPARENT, traceparent)]
