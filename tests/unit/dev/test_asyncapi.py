from __future__ import annotations

import orjson

from schemas import Topics
from shotline.dev.asyncapi import describe
from shotline.dev.topology import builtin_processors


def test_asyncapi_documents_every_processor_input_and_every_output() -> None:
    topics = Topics(prefix="p.")
    app = describe(topics, "127.0.0.1:9092", builtin_processors())
    doc = orjson.loads(app.schema.to_specification().to_json())
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert {"p.shotline.callbacks.v1", "p.shotline.screenshots.v1"} <= addresses
    assert {"p.shotline.usage.v1", "p.shotline.dlq.v1"} <= addresses
    titles = set(doc["channels"])
    assert "dedupe reads p.shotline.callbacks.v1" in titles
    schemas = set(doc["components"]["schemas"])
    assert {"CallbackEnvelope", "ScreenshotRecord", "UsageRecord", "DeadLetterRecord"} <= schemas
    assert doc["servers"]["development"]["host"] == "127.0.0.1:9092"
