"""Pure contracts shared by every shotline unit: no I/O, no framework imports."""

from schemas.callback import AgoraCallback, CallbackParam, TimeSource
from schemas.checksum import (
    DEFAULT_CHECKSUM_TEMPLATE,
    checksum,
    checksum_matches,
    validate_template,
)
from schemas.config import ChecksumMode, ProjectConfig
from schemas.deadletter import DeadLetterRecord
from schemas.enriched import EnrichedScreenshot, S3ObjectFacts
from schemas.envelope import (
    HEADER_PROJECT,
    HEADER_TRACEPARENT,
    CallbackEnvelope,
    ChecksumStatus,
    headers_as_text,
)
from schemas.errors import (
    KafkaConfigError,
    ObjectNameError,
    ShotlineError,
    TimestampError,
    UnreadableTimestampError,
)
from schemas.kafka import KafkaSettings
from schemas.objectname import ObjectName, parse_object_name
from schemas.screenshot import Consistency, ScreenshotRecord
from schemas.timestamps import compact_utc, parse_compact_utc, stated_time, to_utc
from schemas.topics import Topics, TopicSpec

__all__ = [
    "DEFAULT_CHECKSUM_TEMPLATE",
    "HEADER_PROJECT",
    "HEADER_TRACEPARENT",
    "AgoraCallback",
    "CallbackEnvelope",
    "CallbackParam",
    "ChecksumMode",
    "ChecksumStatus",
    "Consistency",
    "DeadLetterRecord",
    "EnrichedScreenshot",
    "KafkaConfigError",
    "KafkaSettings",
    "ObjectName",
    "ObjectNameError",
    "ProjectConfig",
    "S3ObjectFacts",
    "ScreenshotRecord",
    "ShotlineError",
    "TimeSource",
    "TimestampError",
    "TopicSpec",
    "Topics",
    "UnreadableTimestampError",
    "checksum",
    "checksum_matches",
    "compact_utc",
    "headers_as_text",
    "parse_compact_utc",
    "parse_object_name",
    "stated_time",
    "to_utc",
    "validate_template",
]
