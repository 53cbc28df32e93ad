"""Every error the ``shotline`` commands raise on purpose, by how the command reacts.

    ShotlineError (schemas.errors)
     └── CommandError
          ├── SettingsError       the configuration is invalid: ``error:`` line, exit 2
          ├── KafkaAuthError      the broker refused our TLS handshake or SASL login: exit 2
          ├── KafkaUnreachable    no bootstrap broker answered in time: exit 2 (``process``
          │                       and ``ingest`` warn and wait instead)
          ├── TopicsError         the broker refused to create a topic, or a new topic did
          │                       not become visible: ``error:`` line, exit 2
          ├── UploadError         the object store refused an upload of the simulator
          ├── LedgerError         reconcile could not read or write Kafka
          ├── ListingError        reconcile could not list a bucket
          ├── TimeSyntaxError     (also ValueError) a command-line time is neither ISO 8601
          │                       nor relative like ``-2h``
          ├── ServiceError        a local dev service (Kafka, S3, Prometheus) could not be
          │                       prepared or started; the message says what to do
          ├── PipelineError       a stage of ``shotline dev run`` did not start or died
          └── ConsoleError        the review console's answers to a request
               ├── DecisionRefused    a decision cannot be recorded: HTTP status + JSON code
               ├── BodyTooLarge       a request body over the console's limit: 413
               ├── PublishFailed      Kafka did not acknowledge a decision in time: 503
               └── ThumbnailMissing   the store has no such object, or did not answer: 502

The contracts' errors (``KafkaConfigError``, ``MissingExtraError``, ``TimestampError``,
``ObjectNameError``) are drawn in ``schemas.errors``; the ingest's in ``ingest.errors``; the
processors' in ``processors.errors``.
"""

from __future__ import annotations

from schemas.errors import ShotlineError

__all__ = [
    "BodyTooLarge",
    "CommandError",
    "ConsoleError",
    "DecisionRefused",
    "KafkaAuthError",
    "KafkaUnreachable",
    "LedgerError",
    "ListingError",
    "PipelineError",
    "PublishFailed",
    "ServiceError",
    "SettingsError",
    "ThumbnailMissing",
    "TimeSyntaxError",
    "TopicsError",
    "UploadError",
]


class CommandError(ShotlineError):
    """Root of the commands' own errors."""


class SettingsError(CommandError):
    """The configuration is invalid; the message names each field and what is wrong."""


class KafkaAuthError(CommandError):
    """The broker answered but refused our TLS handshake or SASL login: no retry helps."""


class KafkaUnreachable(CommandError):
    """No bootstrap broker answered in time."""


class TopicsError(CommandError):
    """The broker refused to create a topic, or a created topic did not become visible."""


class UploadError(CommandError):
    """The object store refused or failed an upload."""


class LedgerError(CommandError):
    """Kafka could not be read or written."""


class ListingError(CommandError):
    """The bucket could not be listed (missing, access denied, endpoint down)."""


class TimeSyntaxError(CommandError, ValueError):
    """A time given on the command line is neither ISO 8601 nor relative like ``-2h``."""


class ServiceError(CommandError):
    """A local service could not be prepared or started; the message says what to do."""


class PipelineError(CommandError):
    """A stage did not start or died; the message names its log."""


class ConsoleError(CommandError):
    """Root of the review console's answers to a request it cannot serve."""


class DecisionRefused(ConsoleError):
    """An answer to the reviewer: HTTP ``status``, JSON ``{"error": code, "detail": ...}``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


class BodyTooLarge(ConsoleError):
    """A request body is larger than the console accepts."""


class PublishFailed(ConsoleError):
    """Kafka did not acknowledge a decision in time; nothing was recorded."""


class ThumbnailMissing(ConsoleError):
    """The store has no such object, or did not answer."""
