"""Errors a processor raises to steer the runner.

    ShotlineError
    ├── RetriableError     transient (S3 timeout, provider 503): retried with backoff,
    │                      then dead-lettered with the cause when attempts run out
    ├── FatalError         the processor cannot go on (bad config): the runner stops
    └── Backpressure       a dependency asks for a pause (provider quota, open breaker):
                           the batch is not committed, its partitions pause for
                           ``retry_after_s`` and the same records come again; no attempt is
                           counted and nothing is dead-lettered

Per-record problems that retrying cannot fix are not exceptions: return them as
``DeadLetter`` in ``HandleResult``.
"""

from __future__ import annotations

from schemas.errors import ShotlineError

__all__ = ["Backpressure", "FatalError", "RetriableError", "ShotlineError"]


class RetriableError(ShotlineError):
    """A transient failure: the runner retries the batch with backoff."""


class FatalError(ShotlineError):
    """The processor cannot continue; the runner shuts down cleanly and exits non-zero."""


class Backpressure(ShotlineError):
    """Raised by ``handle``: pause this batch's partition for ``retry_after_s`` seconds, then
    handle the same records again. ``reason``: short and bounded (a metric label)."""

    def __init__(self, retry_after_s: float, reason: str = "backpressure") -> None:
        super().__init__(f"{reason}: retry after {retry_after_s:.3f} s")
        self.retry_after_s = max(0.0, retry_after_s)
        self.reason = reason
