"""What the simulator sends: one screenshot at a time, Agora-shaped, with faults drawn.

Pure and deterministic for a given seed and clock: no I/O here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from schemas import checksum, compact_utc
from shotline.simulate.settings import SimulateSettings

__all__ = ["Kind", "Planner", "Screenshot", "channel_names"]


class Kind(StrEnum):
    """What a screenshot is meant to test. Only VALID and MISSING_OBJECT may be accepted."""

    VALID = "valid"
    MISSING_OBJECT = "missing_object"  # callback sent, image never uploaded
    DROPPED = "dropped"  # image uploaded, callback never sent (for a reconciler)
    BAD_CHECKSUM = "bad_checksum"
    MALFORMED = "malformed"

    @property
    def acceptable(self) -> bool:
        return self in {Kind.VALID, Kind.MISSING_OBJECT}


@dataclass(frozen=True, slots=True)
class Screenshot:
    request_id: str
    object_name: str
    body: bytes  # the exact HTTP body delivered
    kind: Kind
    duplicates: int  # extra deliveries after the first success
    compact_timestamp: bool

    @property
    def uploads(self) -> bool:
        return self.kind is not Kind.MISSING_OBJECT

    @property
    def sends(self) -> bool:
        return self.kind is not Kind.DROPPED


def channel_names(count: int) -> list[str]:
    """Channel names that mix plain names with ``_`` and ``__`` inside (parsers must cope)."""
    shapes = ("live_room_{i}", "class{i}", "game__lobby_{i}", "httpClient{i}")
    return [shapes[i % len(shapes)].format(i=i) for i in range(count)]


_MALFORMED_SHAPES = ("truncated", "not_json", "missing_field", "wrong_type")


class Planner:
    """Produces screenshots round-robin over channels x users."""

    def __init__(self, settings: SimulateSettings) -> None:
        self.settings = settings
        self.random = random.Random(settings.seed)  # not for security: a reproducible mix
        self.sources = [
            (cname, str(1000 + c * settings.users + u))
            for c, cname in enumerate(channel_names(settings.channels))
            for u in range(settings.users)
        ]
        self.sequence = 0

    def _kind(self) -> Kind:
        faults = self.settings.faults
        draw = self.random.random()
        for kind, rate in (
            (Kind.BAD_CHECKSUM, faults.bad_checksum),
            (Kind.MALFORMED, faults.malformed),
            (Kind.MISSING_OBJECT, faults.missing_object),
            (Kind.DROPPED, faults.dropped),
        ):
            if draw < rate:
                return kind
            draw -= rate
        return Kind.VALID

    def next(self, now: datetime) -> Screenshot:
        """The next screenshot, taken at ``now`` (an aware datetime)."""
        settings, faults = self.settings, self.settings.faults
        cname, uid = self.sources[self.sequence % len(self.sources)]
        self.sequence += 1
        sid = self.random.getrandbits(128).to_bytes(16, "big").hex()
        utc = compact_utc(now)
        directory = f"{settings.prefix}/{utc[:8]}" if settings.prefix else utc[:8]
        object_name = f"{directory}/{sid}_{cname}__uid_s_{uid}__uid_e_video_{utc}.jpg"
        tail = self.random.getrandbits(128).to_bytes(16, "big").hex()
        request_id = f"{sid}_{int(now.timestamp())}_{tail}"
        kind = self._kind()
        compact = kind.acceptable and self.random.random() < faults.compact_timestamp
        duplicates = 0
        if kind.acceptable and self.random.random() < faults.duplicate:
            duplicates = self.random.randint(1, faults.duplicate_max)
        good = checksum(settings.address, 200, object_name, request_id, settings.checksum_template)
        payload: dict[str, Any] = {
            "requestId": request_id,
            "callbackParam": {"cname": cname},
            "callbackData": "",
            "checksum": good if kind is not Kind.BAD_CHECKSUM else _corrupt(good),
            "object": object_name,
            "code": 200,
            "msg": "Supervise complete",
            "channelName": cname,
            "userId": uid,
            "timestamp": int(utc) if compact else int(now.timestamp() * 1000),
        }
        body = orjson.dumps(payload)
        if kind is Kind.MALFORMED:
            body = self._malform(payload, body)
        return Screenshot(request_id, object_name, body, kind, duplicates, compact)

    def _malform(self, payload: dict[str, Any], body: bytes) -> bytes:
        shape = self.random.choice(_MALFORMED_SHAPES)
        if shape == "truncated":
            return body[: len(body) // 2]
        if shape == "not_json":
            return f"requestId={payload['requestId']}&code=200".encode()
        broken = dict(payload)
        if shape == "missing_field":
            del broken["object"]
        else:
            broken["code"] = "two hundred"
        out: bytes = orjson.dumps(broken)
        return out


def _corrupt(digest: str) -> str:
    # Flip the first hex digit: still 32 lowercase hex characters, never the right value.
    first = "0" if digest[0] != "0" else "1"
    return first + digest[1:]
