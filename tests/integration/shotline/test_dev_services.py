"""`shotline dev`: a real KRaft node that is idempotent, persists data and survives kill -9.

These tests start their own broker on free ports under a temporary home, so the shared
broker on 9092 is never touched.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import KafkaSettings, TopicSpec
from shotline.dev.kafka import KafkaNode
from shotline.dev.probe import kafka_serves_metadata
from shotline.dev.settings import DevSettings
from shotline.dev.topology import free_port
from shotline.topics import ensure_topics

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[KafkaNode]:
    settings = DevSettings(
        home=tmp_path,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap="256m",
        # jars are shared with the real cache so the test does not download them again
    )
    node = KafkaNode(settings)
    node.libs = KafkaNode(DevSettings()).libs  # type: ignore[method-assign]
    yield node
    node.down(purge=True)


def topic_names(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    async def names() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    return asyncio.run(names())


def test_up_is_idempotent_and_data_survives_kill_9_and_down_up(node: KafkaNode) -> None:
    assert node.up() is True
    assert node.up() is False  # already running: nothing started
    spec = TopicSpec(name="persisted", partitions=2, replication=1, config={})
    asyncio.run(ensure_topics(KafkaSettings(bootstrap=node.address), [spec]))

    pid = node.process.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert node.process.pid() is None  # the stale pid file is not trusted
    assert node.up() is True  # recovers after kill -9
    assert "persisted" in topic_names(node.address)

    assert node.down() is True
    assert not kafka_serves_metadata(node.address, timeout_s=2)
    assert node.up() is True
    assert "persisted" in topic_names(node.address)


def test_down_purge_wipes_the_data(node: KafkaNode) -> None:
    node.up()
    spec = TopicSpec(name="gone", partitions=1, replication=1, config={})
    asyncio.run(ensure_topics(KafkaSettings(bootstrap=node.address), [spec]))
    node.down(purge=True)
    assert not node.data_dir.exists()
    node.up()
    assert "gone" not in topic_names(node.address)
