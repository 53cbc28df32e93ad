"""Every error shotline raises on purpose descends from ``ShotlineError``, defined here.

The contracts' own branch (each package draws its own in its ``errors`` module:
``ingest.errors``, ``processors.errors``, ``shotline.errors``)::

    ShotlineError
     ├── KafkaConfigError     the Kafka connection settings cannot work
     ├── MissingExtraError    a feature needs an optional extra that is not installed
     ├── TimestampError       (also ValueError) not Unix ms nor 17-digit yyyyMMddHHmmssSSS
     │    └── UnreadableTimestampError  17 digits that are not a real UTC time (accepted)
     └── ObjectNameError      (also ValueError) not Agora's object-name convention

Errors that callers (and pydantic validators) catch as ``ValueError`` subclass both.
"""

from __future__ import annotations

__all__ = [
    "KafkaConfigError",
    "MissingExtraError",
    "ObjectNameError",
    "ShotlineError",
    "TimestampError",
    "UnreadableTimestampError",
]


class ShotlineError(Exception):
    """Root of every error shotline raises on purpose."""


class KafkaConfigError(ShotlineError):
    """The Kafka connection settings cannot work (bad combination, unreadable TLS file)."""


class MissingExtraError(ShotlineError):
    """A feature needs an optional extra that is not installed; the message names it."""


class TimestampError(ShotlineError, ValueError):
    """The value is neither Unix milliseconds nor a 17-digit ``yyyyMMddHHmmssSSS`` time."""


class UnreadableTimestampError(TimestampError):
    """The 17 digits are not a real ``yyyyMMddHHmmssSSS`` UTC time (month 13, 30 February).

    A callback carrying one is still accepted: its screenshot time comes from elsewhere
    (``schemas.callback.fallback_time``)."""


class ObjectNameError(ShotlineError, ValueError):
    """The object name does not follow Agora's naming convention."""
