"""The replication factor of a topic a processor creates follows SHOTLINE_TOPICS_REPLICATION."""

from __future__ import annotations

import pytest

from processors.errors import FatalError
from processors.runner.topics import REPLICATION_ENV, replication_factor
from schemas import KafkaSettings


async def test_the_configured_replication_is_used_without_asking_the_cluster() -> None:
    # an unreachable bootstrap: asking the cluster would fail
    kafka = KafkaSettings(bootstrap="127.0.0.1:1")
    assert await replication_factor(kafka, {REPLICATION_ENV: "3"}) == 3
    assert await replication_factor(kafka, {REPLICATION_ENV: " 2 "}) == 2


@pytest.mark.parametrize("value", ["0", "-1", "three", "1.5"])
async def test_a_replication_that_is_not_a_whole_number_above_zero_is_fatal(value: str) -> None:
    with pytest.raises(FatalError, match=REPLICATION_ENV):
        await replication_factor(KafkaSettings(bootstrap="127.0.0.1:1"), {REPLICATION_ENV: value})
