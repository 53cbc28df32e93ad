"""Screenshot time normalisation.

Agora's field table says ``timestamp`` is Unix milliseconds; the docs' own example carries a
17-digit ``yyyyMMddHHmmssSSS`` value (the same form as the ``utc`` part of the object name).
Both forms are accepted and normalised to an aware UTC ``datetime``; anything else is
rejected with a message that says what was expected. Any 17 digits are accepted (Agora took and
bills that screenshot): when they are not a real UTC time, ``stated_time`` gives ``None`` and
the callback's time comes from elsewhere (``schemas.callback.fallback_time``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.errors import TimestampError, UnreadableTimestampError

__all__ = [
    "TimestampError",
    "UnreadableTimestampError",
    "compact_utc",
    "parse_compact_utc",
    "stated_time",
    "to_utc",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_from_timestamp = datetime.fromtimestamp
# Unix milliseconds between 2000-01-01 and 2200-01-01: wide enough for any real clock, narrow
# enough that Unix seconds (10 digits) and the 17-digit form can never be mistaken for it.
_MIN_MS = 946_684_800_000
_MAX_MS = 7_258_118_400_000


def parse_compact_utc(text: str) -> datetime:
    """Parse a 17-digit ``yyyyMMddHHmmssSSS`` UTC time (the object name's ``utc`` part)."""
    if len(text) != 17 or not (text.isascii() and text.isdigit()):
        raise TimestampError(f"expected 17 digits yyyyMMddHHmmssSSS, got {text!r}")
    # fromisoformat on the digits rearranged instead of strptime (8x cheaper; dedupe parses
    # one per record). Fixed-width ASCII digits and datetime's own range checks reject
    # exactly what strptime("%Y%m%d%H%M%S") did: month 13, day 30 in February, second 60,
    # year 0.
    try:
        return datetime.fromisoformat(
            f"{text[:8]}T{text[8:14]}.{text[14:]}+00:00"  # yyyyMMddTHHmmss.SSS+00:00
        )
    except ValueError as exc:
        raise TimestampError(f"{text!r} is not a valid yyyyMMddHHmmssSSS time") from exc


def compact_utc(when: datetime) -> str:
    """Format an aware datetime as 17-digit ``yyyyMMddHHmmssSSS`` UTC."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"


def to_utc(value: int | str) -> datetime:
    """Normalise a callback ``timestamp`` (Unix ms or 17-digit compact form) to UTC.

    Strings of digits are accepted because some senders quote numbers; booleans, floats,
    negative numbers, Unix seconds and other lengths are rejected. 17 digits that are not a
    real time raise ``UnreadableTimestampError`` (a ``TimestampError``): the callback is
    accepted all the same, see ``stated_time``.
    """
    if type(value) is int and _MIN_MS <= value < _MAX_MS:
        # The common case, once per record: the general path below gives the same result
        # for it after a str() round trip. Exact: below _MAX_MS, value / 1000 is within
        # 0.48 µs of the true time (doubles near 7.3e9 are 2^-20 s apart) and fromtimestamp
        # rounds to the nearest µs, so the whole milliseconds come back (tested at both ends).
        return _from_timestamp(value / 1000, UTC)
    if isinstance(value, bool):
        raise TimestampError("timestamp must be an integer, not a boolean")
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise TimestampError(f"timestamp {value!r} is not a string of ASCII digits")
        text = value
    elif isinstance(value, int):
        if value < 0:
            raise TimestampError("timestamp must not be negative")
        text = str(value)
    else:
        raise TimestampError(f"timestamp must be an integer, got {type(value).__name__}")
    if len(text) == 17:
        try:
            return parse_compact_utc(text)
        except TimestampError as exc:
            raise UnreadableTimestampError(str(exc)) from exc
    millis = int(text)
    if _MIN_MS <= millis < _MAX_MS:
        return _EPOCH + timedelta(milliseconds=millis)
    hint = " (looks like Unix seconds)" if len(text) == 10 else ""
    raise TimestampError(
        f"timestamp {text} is neither Unix milliseconds (2000..2200) nor 17-digit "
        f"yyyyMMddHHmmssSSS{hint}"
    )


def stated_time(value: int | str) -> datetime | None:
    """The time a callback ``timestamp`` states, or ``None`` when it is 17 digits that are
    not a real UTC time (an accepted callback: its time is taken from elsewhere). Raises
    ``TimestampError`` for what is refused (``to_utc``'s rules)."""
    try:
        return to_utc(value)
    except UnreadableTimestampError:
        return None
