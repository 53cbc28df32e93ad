"""An AsyncAPI document of the pipeline's topics, for ``faststream docs serve|gen``.

The exactly-once processors run on aiokafka directly, so there is no running FastStream
app to document. This builds a documentation-only one: a subscriber per built-in processor
(its input topic, consumer group ``<prefix>shotline-<name>`` and input model, from
``processors.registry``) and a publisher per record shotline writes (model from
``schemas``). It never connects to Kafka. Serve it with::

    faststream docs serve shotline.dev.asyncapi:build --factory --port 8090
"""

from __future__ import annotations

import json
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from processors.registry import BUILTINS
from processors.runner.loader import load_processor
from schemas import CallbackEnvelope, Topics
from schemas.deadletter import DeadLetterRecord
from schemas.decision import ReviewDecision
from schemas.moderation import ModerationVerdict
from schemas.screenshot import ScreenshotRecord
from schemas.usage import UsageRecord
from shotline.dev.topology import builtin_processors
from shotline.settings import load_settings

__all__ = ["OUTPUTS", "build", "describe", "document"]

# What each stage writes: (writer, topic attribute of Topics, record model, summary).
OUTPUTS: tuple[tuple[str, str, type[BaseModel], str], ...] = (
    (
        "ingest",
        "callbacks",
        CallbackEnvelope,
        "Callbacks (ingest; reconcile: source reconciler), key = object name else requestId.",
    ),
    (
        "dedupe",
        "screenshots",
        ScreenshotRecord,
        "Each screenshot exactly once, key = the callback's key.",
    ),
    ("metrics", "usage", UsageRecord, "Monthly usage and bill per project (compacted)."),
    ("moderate", "moderation", ModerationVerdict, "One verdict per screenshot, key = requestId."),
    (
        "console",
        "moderation_decisions",
        ReviewDecision,
        "Reviewers' decisions on flagged screenshots (compacted), key = requestId.",
    ),
    ("any processor", "dlq", DeadLetterRecord, "Dead letters with their cause (replayable)."),
)


def _handler(model: type[Any]) -> Any:
    async def documented(msg: Any) -> None:
        """Documentation only: the runner consumes this topic."""

    # FastStream reads the message schema from the annotation; set it per processor.
    documented.__annotations__ = {"msg": model, "return": None}
    return documented


def describe(topics: Topics, bootstrap: str, processors: list[str]) -> FastStream:
    """A FastStream app whose AsyncAPI schema documents ``processors`` and the outputs."""
    broker = KafkaBroker(bootstrap, description="shotline's Kafka cluster")
    app = FastStream(
        broker,
        specification=AsyncAPI(
            title="shotline",
            version="1",
            description="Agora screenshot callbacks → deduplicated, billed records on Kafka.",
        ),
    )
    for name in processors:
        processor = load_processor(name, BUILTINS)
        summary = (type(processor).__doc__ or name).strip().splitlines()[0]
        group = topics.group(name)
        # FastStream's document has no operation binding for the group: the page shows it
        # in the description.
        broker.subscriber(
            processor.input_topic(topics),
            group_id=group,
            title=f"{name} reads {processor.input_topic(topics)}",
            description=f"{summary} (consumer group {group})",
        )(_handler(processor.input_model))
    for writer, attr, model, summary in OUTPUTS:
        topic = getattr(topics, attr)
        broker.publisher(topic, title=f"{writer} writes {topic}", description=summary, schema=model)
    return app


def build() -> FastStream:
    """``faststream docs serve shotline.dev.asyncapi:build --factory``: settings from the
    environment (``SHOTLINE_KAFKA_*``)."""
    kafka = load_settings().kafka
    return describe(kafka.topics, kafka.bootstrap, builtin_processors())


def document(topics: Topics, bootstrap: str) -> dict[str, Any]:
    """The AsyncAPI document as JSON-ready data (what ``shotline console`` serves offline at
    ``/asyncapi.json`` and renders at ``/asyncapi``)."""
    app = describe(topics, bootstrap, builtin_processors())
    data: dict[str, Any] = json.loads(app.schema.to_specification().to_json())
    return data
