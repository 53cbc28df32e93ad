"""``flagger``: marks screenshots whose object name disagrees with the callback fields.

A third-party processor written only against the public contract (``processors.runner``):
it reads ``shotline.screenshots.v1`` and emits one ``Flag`` per screenshot to
``<prefix><settings.topic>``. It is at-least-once (``exactly_once = False``) and idempotent
downstream because its output is keyed by requestId.

``fail_projects`` simulates a broken downstream for some projects: their records raise
``RetriableError`` — retried, then dead-lettered — until the setting is fixed and the DLQ
replayed. ``fatal_projects`` raise ``FatalError``: the runner stops, exit code 1.
Settings: ``[processors.sections.flagger]`` or ``SHOTLINE_FLAGGER_<FIELD>``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from processors.runner import (
    BaseProcessor,
    Batch,
    Context,
    Emit,
    FatalError,
    HandleResult,
    RetriableError,
)
from schemas import ScreenshotRecord, Topics


class FlaggerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str = "shotline.flags.v1"
    fail_projects: tuple[str, ...] = ()
    fatal_projects: tuple[str, ...] = ()


class Flag(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    request_id: str
    project: str
    consistent: bool


class Flagger(BaseProcessor[ScreenshotRecord]):
    name = "flagger"
    input_model = ScreenshotRecord
    exactly_once = False
    settings_model = FlaggerSettings

    def __init__(self) -> None:
        self.settings = FlaggerSettings()
        self.output = ""

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None:
        self.settings = FlaggerSettings.model_validate(dict(ctx.settings))
        self.output = f"{ctx.kafka.topic_prefix}{self.settings.topic}"

    async def handle(self, batch: Batch[ScreenshotRecord]) -> HandleResult:
        emits = []
        for record in batch:
            shot = record.value
            if shot.project in self.settings.fatal_projects:
                raise FatalError(f"project {shot.project}: flagger is misconfigured for it")
            if shot.project in self.settings.fail_projects:
                raise RetriableError(f"project {shot.project}: flag store unavailable")
            flag = Flag(
                request_id=shot.request_id,
                project=shot.project,
                consistent=shot.consistency.consistent,
            )
            emits.append(Emit(topic=self.output, key=shot.request_id, value=flag))
        return HandleResult(emits=emits)


processor = Flagger()
