from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry

from processors.runner import Context
from schemas import KafkaSettings, Topics
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


def test_asyncapi_shows_each_processor_group_behind_the_topic_prefix() -> None:
    topics = Topics(prefix="p.")
    doc = orjson.loads(
        describe(topics, "127.0.0.1:9092", ["dedupe"]).schema.to_specification().to_json()
    )
    described = doc["channels"]["dedupe reads p.shotline.callbacks.v1"]["description"]
    assert described.endswith("(consumer group p.shotline-dedupe)")


def test_the_group_id_has_one_source() -> None:
    """The runner's group (``Context.group_id``) is ``Topics.group``, prefix included."""
    kafka = KafkaSettings(topic_prefix="t1.")
    ctx = Context(kafka=kafka, projects={}, registry=CollectorRegistry())
    assert ctx.group_id("metrics") == kafka.topics.group("metrics") == "t1.shotline-metrics"
    assert Topics().group("dedupe") == "shotline-dedupe"
