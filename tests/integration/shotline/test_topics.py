"""`shotline topics create` makes every topic once, with the declared specs."""

from __future__ import annotations

import re
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas import KafkaSettings, TopicSpec
from shotline.errors import TopicsError
from shotline.topics import ensure_topics
from tests.conftest import delete_prefixed_topics

pytestmark = pytest.mark.kafka


async def test_create_is_idempotent_and_applies_partitions_and_compaction(
    kafka_bootstrap: str,
) -> None:
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    specs = kafka.topics.specs(partitions=4)
    assert sorted(await ensure_topics(kafka, specs)) == sorted(s.name for s in specs)
    assert await ensure_topics(kafka, specs) == []

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([kafka.topics.callbacks, kafka.topics.dlq])
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        assert partitions == {kafka.topics.callbacks: 4, kafka.topics.dlq: 1}
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, kafka.topics.usage)]
        )
        entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        await admin.close()
        await delete_prefixed_topics(kafka_bootstrap, kafka.topic_prefix)


async def test_a_topic_the_broker_refuses_is_an_error_naming_it(kafka_bootstrap: str) -> None:
    """The broker answers a refused topic with an error code, not an exception: it must not
    be reported as created."""
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    name = f"{kafka.topic_prefix}too-many-replicas"
    bad = TopicSpec(name=name, partitions=1, replication=9, config={})
    with pytest.raises(TopicsError, match=re.escape(name)):
        await ensure_topics(kafka, [bad])


async def test_a_processor_topic_gets_the_clusters_replication_unless_configured(
    kafka_bootstrap: str,
) -> None:
    """enrich's checkpoint topic goes through the same creation as `shotline topics create`:
    compacted, and replicated as the command would (broker count, at most 3)."""
    from processors.enrich.checkpoints import CheckpointLog
    from processors.runner.topics import broker_count, replication_factor

    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    expected = min(await broker_count(kafka), 3)
    assert await replication_factor(kafka, {}) == expected
    log = CheckpointLog(kafka, kafka.topics.screenshots, "g")
    try:
        await log.ensure_topic()
        await log.ensure_topic()  # again: it exists, nothing to do
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([log.topic])
            [response] = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, log.topic)]
            )
        finally:
            await admin.close()
        assert [len(p["replicas"]) for p in described["partitions"]] == [expected]
        entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        await delete_prefixed_topics(kafka_bootstrap, kafka.topic_prefix)
