"""Errors the ingest raises on purpose, translated from vendor errors at the adapters.

    ShotlineError (schemas.errors)
     └── IngestError
          ├── PublishError     Kafka did not ack in time or is unreachable: spool instead
          └── SpoolFullError   the spool is at its size limit: answer 503, Agora retries

``ingest.app`` keeps two private ``IngestError``s as control flow of the bounded body read
(``_TooLarge``: answer 413; ``_Disconnected``: the client went away).

Expected outcomes of a request (a rejected callback) are return values, not exceptions.
"""

from __future__ import annotations

from schemas.errors import ShotlineError

__all__ = ["IngestError", "PublishError", "SpoolFullError"]


class IngestError(ShotlineError):
    """Root of the ingest's own errors."""


class PublishError(IngestError):
    """A record was not acknowledged by Kafka; ``kind`` is a bounded metric label."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class SpoolFullError(IngestError):
    """The spool holds its configured maximum; nothing was written."""
