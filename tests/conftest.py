"""Fixtures shared by every test layer.

Tests marked ``kafka`` run against the real local broker that ``make test`` starts
(``shotline dev up``); each test gets its own topic prefix, so tests never see each other's
records. A missing broker is an error, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import boto3
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from schemas import KafkaSettings
from shotline.dev.probe import kafka_serves_metadata
from shotline.topics import ensure_topics

KAFKA_BOOTSTRAP = os.environ.get("SHOTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
S3_ENDPOINT = os.environ.get("SHOTLINE_TEST_S3_ENDPOINT", "http://127.0.0.1:9000")


def s3_client(endpoint: str = S3_ENDPOINT) -> Any:
    """A boto3 S3 client of the local S3 server (moto accepts any keys)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


async def _topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60_000)
    await admin.start()
    try:
        for start in range(0, len(names), 100):
            await admin.delete_topics(names[start : start + 100])
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if not kafka_serves_metadata(KAFKA_BOOTSTRAP):
        pytest.fail(f"no Kafka at {KAFKA_BOOTSTRAP}: run `make dev-up` (make test does it)")
    return KAFKA_BOOTSTRAP


async def delete_prefixed_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic under ``prefix`` (those a test made, internal ones included)."""
    names = sorted(n for n in await _topic_names(bootstrap) if n.startswith(prefix))
    if names:
        await _delete_topics(bootstrap, names)


@pytest.fixture
async def kafka(kafka_bootstrap: str) -> AsyncIterator[KafkaSettings]:
    """Kafka settings with a fresh topic prefix whose topics all exist (3 partitions).

    Afterwards every topic under the prefix is deleted, so repeated runs do not fill a
    developer's broker; only this test's own prefix is touched, so test sessions sharing a
    broker never delete each other's topics."""
    settings = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")
    await ensure_topics(settings, settings.topics.specs(partitions=3))
    yield settings
    await delete_prefixed_topics(kafka_bootstrap, settings.topic_prefix)
