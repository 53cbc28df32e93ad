"""Parser for Agora's screenshot object names.

``<prefix>/<yyyymmdd>/<sid>_<cname>__uid_s_<uid>__uid_e_<type>_<utc>.jpg`` where the prefix
may be several segments or empty, ``sid`` is 32 hex characters, ``cname`` may contain ``_``
(even ``__``), ``type`` is ``video`` and ``utc`` is 17-digit ``yyyyMMddHHmmssSSS``. Parsing is
anchored on the last ``__uid_e_`` and the last ``__uid_s_`` before it, so underscores in the
channel name never shift the fields.
"""

from __future__ import annotations

from datetime import datetime
from string import ascii_lowercase, hexdigits
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.errors import ObjectNameError, TimestampError
from schemas.timestamps import parse_compact_utc

__all__ = ["ObjectName", "ObjectNameError", "object_name_fields", "parse_object_name"]

# str methods instead of regular expressions (3x cheaper per name): ``isdecimal`` is
# exactly what ``\d`` matches in a str pattern, and ``lstrip(chars) == ""`` holds exactly
# when every character is one of ``chars``.
_HEX = hexdigits  # 0-9a-fA-F


class ObjectName(BaseModel):
    """The fields encoded in a screenshot's object name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str
    date: str
    sid: str
    cname: str
    uid: str
    type: str
    utc: datetime


def parse_object_name(name: str) -> ObjectName:
    """Split an object name into its fields, or raise ``ObjectNameError`` saying why."""
    return ObjectName(**object_name_fields(name))


def object_name_fields(name: str) -> dict[str, Any]:
    """``parse_object_name`` as the keyword arguments of ``ObjectName``: for a caller that
    validates a larger model holding it in one pass (dedupe's output record)."""
    head, slash, filename = name.rpartition("/")
    if not slash:
        raise ObjectNameError("object name has no <yyyymmdd>/ directory")
    prefix, _, date = head.rpartition("/")
    if not (len(date) == 8 and date.isdecimal()):
        raise ObjectNameError(f"date directory {date!r} is not yyyymmdd")
    if not filename.endswith(".jpg"):
        raise ObjectNameError("object name does not end in .jpg")
    stem = filename[: -len(".jpg")]
    left, sep_e, right = stem.rpartition("__uid_e_")
    if not sep_e:
        raise ObjectNameError("object name has no __uid_e_ marker")
    sid_cname, sep_s, uid = left.rpartition("__uid_s_")
    if not sep_s:
        raise ObjectNameError("object name has no __uid_s_ marker")
    sid, underscore, cname = sid_cname[:32], sid_cname[32:33], sid_cname[33:]
    if len(sid) != 32 or sid.lstrip(_HEX) or underscore != "_":
        raise ObjectNameError("object name does not start with a 32-hex sid and '_'")
    if not cname:
        raise ObjectNameError("object name has an empty channel name")
    if not uid:
        raise ObjectNameError("object name has an empty uid")
    kind, _, utc_text = right.rpartition("_")
    if not kind or kind.lstrip(ascii_lowercase):
        raise ObjectNameError(f"file type {kind!r} is not a lowercase word such as 'video'")
    try:
        utc = parse_compact_utc(utc_text)
    except TimestampError as exc:
        raise ObjectNameError(f"utc part: {exc}") from exc
    return {
        "prefix": prefix,
        "date": date,
        "sid": sid.lower(),
        "cname": cname,
        "uid": uid,
        "type": kind,
        "utc": utc,
    }
