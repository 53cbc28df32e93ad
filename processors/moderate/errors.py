"""Errors of the moderation stage, by how the caller reacts.

    ShotlineError
    └── ModerationError
        ├── ProviderRetriable   429, 5xx, timeout, garbage body: retried with backoff
        │                       (``retry_after_s`` from the provider closes its gate)
        ├── ProviderRejected    the provider refused this image (other 4xx): no retry, DLQ
        ├── BudgetExhausted     a record's attempts are spent: DLQ ``budget_exhausted``
        └── ProviderPaused      breaker open or a long Retry-After: the handler raises the
                                runner's ``Backpressure`` so the partitions wait

Adapters translate vendor errors (httpx, botocore, onnxruntime) into these; nothing else
leaves them.
"""

from __future__ import annotations

from schemas.errors import ShotlineError

__all__ = [
    "BudgetExhausted",
    "ModerationError",
    "ProviderPaused",
    "ProviderRejected",
    "ProviderRetriable",
]


class ModerationError(ShotlineError):
    """Base of the moderation stage's errors."""


class ProviderRetriable(ModerationError):
    """A transient failure of one call. ``cause`` is a bounded word (``status_429``,
    ``status_5xx``, ``timeout``, ``garbage``, ``transport``) used as a metric label."""

    def __init__(self, message: str, cause: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.retry_after_s = retry_after_s


class ProviderRejected(ModerationError):
    """The provider will never accept this image (bad request, unsupported format...).
    ``reason`` is the dead-letter reason (``provider_rejected``, ``missing_object``)."""

    def __init__(self, message: str, reason: str = "provider_rejected") -> None:
        super().__init__(message)
        self.reason = reason


class BudgetExhausted(ModerationError):
    """``max_attempts`` calls failed; ``attempts`` and the last error are kept."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class ProviderPaused(ModerationError):
    """The provider takes no calls for ``retry_after_s`` (breaker open, Retry-After)."""

    def __init__(self, provider: str, retry_after_s: float, reason: str) -> None:
        super().__init__(f"provider {provider}: {reason}, {retry_after_s:.2f} s")
        self.provider = provider
        self.retry_after_s = retry_after_s
        self.reason = reason
