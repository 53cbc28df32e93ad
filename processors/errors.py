"""Every error the processors raise on purpose, by how the caller must react.

    ShotlineError (schemas.errors)
     └── ProcessorError
          ├── RetriableError      transient (S3 timeout, provider 503): the runner retries the
          │    │                  batch with backoff, then dead-letters it with the cause
          │    └── SinkError      output or the offset commit did not reach Kafka: the batch
          │                       is not committed and its partition backs off
          ├── FatalError          the processor cannot go on (bad config): the runner stops
          ├── Backpressure        a dependency asks for a pause (provider quota, open
          │                       breaker): the batch is not committed, its partitions pause
          │                       for ``retry_after_s`` and the same records come again; no
          │                       attempt is counted and nothing is dead-lettered
          ├── TopicReadError      a one-shot read or replay of a topic for a command (DLQ
          │                       list and replay, the usage report) failed; nothing retries
          │                       it: the command reports it and exits non-zero
          ├── TopicSetupError     the broker refused to create a topic, or a new topic did
          │                       not become visible (``runner.topics``); ``shotline topics``
          │                       reports it as its ``TopicsError``
          └── ModerationError     the moderation stage's own errors
               ├── ProviderRetriable   429, 5xx, timeout, garbage body: retried with backoff
               │                       (``retry_after_s`` from the provider closes its gate)
               ├── ProviderRejected    the provider refused this image (other 4xx): DLQ
               ├── BudgetExhausted     a record's attempts are spent: DLQ ``budget_exhausted``
               ├── ProviderPaused      breaker open or a long Retry-After: the handler raises
               │                       ``Backpressure`` so the partitions wait
               └── WebhookFailed       the action webhook did not take the verdict: DLQ
                                       ``webhook_failed``

Per-record problems that retrying cannot fix are not exceptions: a processor returns them as
``DeadLetter`` in ``HandleResult``. Adapters translate vendor errors (aiokafka, httpx,
botocore, onnxruntime) into these; nothing else leaves them.
"""

from __future__ import annotations

from schemas.errors import ShotlineError

__all__ = [
    "Backpressure",
    "BudgetExhausted",
    "FatalError",
    "ModerationError",
    "ProcessorError",
    "ProviderPaused",
    "ProviderRejected",
    "ProviderRetriable",
    "RetriableError",
    "ShotlineError",
    "SinkError",
    "TopicReadError",
    "TopicSetupError",
    "WebhookFailed",
]


class ProcessorError(ShotlineError):
    """Root of the processors' own errors."""


class RetriableError(ProcessorError):
    """A transient failure: the runner retries the batch with backoff."""


class SinkError(RetriableError):
    """Output could not be published or committed; the batch was not committed."""


class FatalError(ProcessorError):
    """The processor cannot continue; the runner shuts down cleanly and exits non-zero."""


class Backpressure(ProcessorError):
    """Raised by ``handle``: pause this batch's partition for ``retry_after_s`` seconds, then
    handle the same records again. ``reason``: short and bounded (a metric label)."""

    def __init__(self, retry_after_s: float, reason: str = "backpressure") -> None:
        super().__init__(f"{reason}: retry after {retry_after_s:.3f} s")
        self.retry_after_s = max(0.0, retry_after_s)
        self.reason = reason


class TopicReadError(ProcessorError):
    """A one-shot read (or replay) of a topic failed; the message names the topic."""


class TopicSetupError(ProcessorError):
    """A topic could not be created, or a created one did not become visible; the message
    names the topics."""


class ModerationError(ProcessorError):
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


class WebhookFailed(ModerationError):
    """The action webhook did not take the verdict."""
