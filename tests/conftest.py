"""Fixtures shared by every test layer.

Tests marked ``kafka`` run against the real local broker that ``make test`` starts
(``shotline dev up``); each test gets its own topic prefix, so tests never see each other's
records. A missing broker is an error, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from schemas import KafkaSettings
from shotline.dev.probe import kafka_serves_metadata
from shotline.topics import ensure_topics

KAFKA_BOOTSTRAP = os.environ.get("SHOTLINE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
S3_ENDPOINT = os.environ.get("SHOTLINE_TEST_S3_ENDPOINT", "http://127.0.0.1:9000")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if not kafka_serves_metadata(KAFKA_BOOTSTRAP):
        pytest.fail(f"no Kafka at {KAFKA_BOOTSTRAP}: run `make dev-up` (make test does it)")
    return KAFKA_BOOTSTRAP


@pytest.fixture
async def kafka(kafka_bootstrap: str) -> AsyncIterator[KafkaSettings]:
    """Kafka settings with a fresh topic prefix whose topics all exist (3 partitions)."""
    settings = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")
    await ensure_topics(settings, settings.topics.specs(partitions=3))
    return settings
