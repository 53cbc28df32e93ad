"""The stage's records, built from a screenshot: skipped verdicts, provider requests and
dead letters."""

from __future__ import annotations

from typing import Any

import msgspec

from processors.moderate.decide import Refused
from processors.moderate.providers.base import ImageRequest
from processors.runner.contract import DeadLetter, Record
from schemas import EnrichedScreenshot, ProjectConfig
from schemas.moderation import ModerationVerdict, Verdict

__all__ = ["dead_letter", "image_request", "skipped_json", "skipped_verdict"]

# transient causes: replaying the dead letter later may succeed as it is
_RETRIABLE = frozenset({"budget_exhausted", "webhook_failed"})


def skipped_verdict(request_id: str, project: str, reason: str) -> ModerationVerdict:
    return ModerationVerdict(
        request_id=request_id, project=project, verdict=Verdict.SKIPPED, reason=reason
    )


def _template(reason: str) -> tuple[bytes, bytes, bytes]:
    """A skipped verdict's JSON cut around its two free fields (request_id, project),
    taken from the model itself so it follows the model's fields and their order."""
    data = skipped_verdict("\x00r", "\x00p", reason).model_dump_json().encode("utf-8")
    head, rest = data.split(b'"\\u0000r"')
    middle, tail = rest.split(b'"\\u0000p"')
    return head, middle, tail


_SKIPPED = {reason: _template(reason) for reason in ("not_configured", "no_object", "sampled_out")}
_encode_str = msgspec.json.encode  # strings escaped as pydantic's JSON escapes them


def skipped_json(request_id: str, project: str, reason: str) -> bytes:
    """``skipped_verdict(...).model_dump_json()`` as UTF-8, without building the model:
    the fast path's verdict (``reason`` one of the triage skips but ``channel_interval``,
    which the fast path never decides)."""
    head, middle, tail = _SKIPPED[reason]
    return b"".join((head, _encode_str(request_id), middle, _encode_str(project), tail))


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
