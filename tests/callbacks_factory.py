"""Building realistic callback envelopes for processor tests (shared by unit and integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import AgoraCallback, CallbackEnvelope, ChecksumStatus, compact_utc

BASE = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def envelope(
    i: int, *, project: str = "p1", cname: str = "room_1", uid: str = "42"
) -> CallbackEnvelope:
    """The i-th screenshot callback: requestId ``req-<i>``, a well-formed object name."""
    shot = BASE + timedelta(seconds=i)
    utc = compact_utc(shot)
    sid = f"{i:032x}"
    callback = AgoraCallback(
        requestId=f"req-{i}",
        callbackParam={"cname": cname},
        callbackData="",
        checksum="0" * 32,
        object=f"shots/{utc[:8]}/{sid}_{cname}__uid_s_{uid}__uid_e_video_{utc}.jpg",
        code=200,
        msg="Supervise complete",
        channelName=cname,
        userId=uid,
        timestamp=int(shot.timestamp() * 1000),
    )
    return CallbackEnvelope(
        project=project, received_at=shot, checksum_status=ChecksumStatus.OK, callback=callback
    )


def envelope_bytes(i: int) -> bytes:
    return envelope(i).model_dump_json().encode()
