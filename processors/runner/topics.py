"""Creating topics: the one place shotline asks a broker for new topics.

``shotline topics create`` (every topic of ``Topics.specs``) and the processors that own a
topic of their own (enrich's checkpoints) both go through ``create_topics``: it checks the
broker's per-topic answer (CreateTopics reports a refusal as an error code, not an
exception) and waits until every partition of a new topic is visible. The replication
factor of a topic a processor creates follows ``SHOTLINE_TOPICS_REPLICATION`` like the
command's, else the cluster's broker count, at most 3.

A refused or invisible topic raises ``TopicSetupError``; other aiokafka errors propagate:
the calling adapter translates them into its own.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from processors.errors import FatalError, TopicSetupError
from schemas import KafkaSettings, TopicSpec

__all__ = ["REPLICATION_ENV", "broker_count", "create_topics", "replication_factor"]

REPLICATION_ENV = "SHOTLINE_TOPICS_REPLICATION"


async def create_topics(
    kafka: KafkaSettings, specs: Sequence[TopicSpec], timeout_s: float = 10.0
) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; the names created (a topic
    another process created meanwhile counts as existing)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        created: list[str] = []
        for spec in specs:
            if spec.name in existing:
                continue
            topic = NewTopic(
                spec.name, spec.partitions, spec.replication, topic_configs=spec.config
            )
            response = await admin.create_topics([topic])
            # The broker answers per topic: an error code, not an exception.
            for name, code, *message in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    continue  # another process created it meanwhile, or our listing was stale
                if code:
                    detail = message[0] if message and message[0] else for_code(code).__name__
                    raise TopicSetupError(f"cannot create topic {name}: {detail}")
                created.append(name)
        await _until_visible(admin, created, timeout_s)
        return created
    finally:
        await admin.close()


async def _until_visible(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> None:
    """Wait until the brokers' metadata shows every partition of ``names``: the controller
    answers CreateTopics before every broker has the topic, and whatever starts next (a
    producer, ``describe_topics``) should not see it half made."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while names:
        described = await admin.describe_topics(names)
        if all(t["error_code"] == 0 and t["partitions"] for t in described):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TopicSetupError(f"topics not visible after {timeout_s:.0f} s: {', '.join(names)}")
        await asyncio.sleep(0.1)


async def broker_count(kafka: KafkaSettings) -> int:
    """How many brokers the cluster has (from the metadata of a bootstrap broker)."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        return max(1, len(cluster["brokers"]))
    finally:
        await admin.close()


async def replication_factor(kafka: KafkaSettings, environ: Mapping[str, str] = os.environ) -> int:
    """``SHOTLINE_TOPICS_REPLICATION`` when set (a whole number ≥ 1, else ``FatalError``),
    otherwise the cluster's broker count, at most 3: what ``shotline topics create`` uses."""
    configured = environ.get(REPLICATION_ENV, "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise FatalError(f"{REPLICATION_ENV}={configured!r}: a whole number ≥ 1 is needed")
        return int(configured)
    return min(await broker_count(kafka), 3)
