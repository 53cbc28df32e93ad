"""Errors a processor raises to steer the runner.

    ShotlineError
    ├── RetriableError     transient (S3 timeout, provider 503): retried with backoff,
    │                      then dead-lettered with the cause when attempts run out
    └── FatalError         the processor cannot go on (bad config): the runner stops

Per-record problems that retrying cannot fix are not exceptions: return them as
``DeadLetter`` in ``HandleResult``.
"""

from __future__ import annotations

from schemas.errors import ShotlineError

__all__ = ["FatalError", "RetriableError", "ShotlineError"]


class RetriableError(ShotlineError):
    """A transient failure: the runner retries the batch with backoff."""


class FatalError(ShotlineError):
    """The processor cannot continue; the runner shuts down cleanly and exits non-zero."""
