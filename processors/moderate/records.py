"""The stage's records, built from a screenshot: skipped verdicts, provider requests and
dead letters."""

from __future__ import annotations

from typing import Any

from processors.moderate.decide import Refused
from processors.moderate.providers.base import ImageRequest
from processors.runner.contract import DeadLetter, Record
from schemas import EnrichedScreenshot, ProjectConfig
from schemas.moderation import ModerationVerdict, Verdict

__all__ = ["dead_letter", "image_request", "skipped_verdict"]

# transient causes: replaying the dead letter later may succeed as it is
_RETRIABLE = frozenset({"budget_exhausted", "webhook_failed"})


def skipped_verdict(shot: EnrichedScreenshot, reason: str) -> ModerationVerdict:
    return ModerationVerdict(
        request_id=shot.request_id, project=shot.project, verdict=Verdict.SKIPPED, reason=reason
    )


def image_request(shot: EnrichedScreenshot, config: ProjectConfig) -> ImageRequest:
    assert shot.s3 is not None
    cb = shot.callback
    return ImageRequest(
        request_id=shot.request_id,
        project=shot.project,
        channel=cb.channelName,
        user_id=cb.userId,
        timestamp=cb.timestamp,
        bucket=shot.s3.bucket,
        key=shot.s3.key,
        size=shot.s3.size,
        version_id=shot.s3.version_id,
        config=config,
    )


def dead_letter(record: Record[Any], refused: Refused) -> DeadLetter:
    return DeadLetter(
        record,
        refused.error,
        retriable=refused.reason in _RETRIABLE,
        attempts=refused.attempts,
        reason=refused.reason,
    )
