"""Poison records: dead-lettered with their cause, the partition keeps flowing, and
``shotline dlq replay`` brings them back after the fix. Also proves a third-party processor
runs by import path (``examples.plugin_example.flagger:processor``) with no core change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from processors.dedupe.logic import normalise
from schemas import KafkaSettings, TopicSpec
from shotline.topics import ensure_topics
from tests.callbacks_factory import envelope, envelope_bytes
from tests.integration.processors.runner.streams import (
    ROOT,
    produce,
    read_all,
    spawn,
    stop,
    wait_for_count,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FAST_RETRIES = {
    "SHOTLINE_PROCESSORS_RETRY_ATTEMPTS": "3",
    "SHOTLINE_PROCESSORS_RETRY_INITIAL_S": "0.01",
    "SHOTLINE_PROCESSORS_RETRY_MAX_S": "0.05",
}
FLAGGER = "examples.plugin_example.flagger:processor"


def shotline(kafka: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "PATH": str(Path(sys.executable).parent),
    }
    exe = str(Path(sys.executable).with_name("shotline"))
    return subprocess.run(
        [exe, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )


async def test_invalid_callbacks_are_dead_lettered_and_the_partition_flows_on(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    good = [(f"req-{i}".encode(), envelope_bytes(i)) for i in range(50)]
    poison = [(b"bad-json", b"{not json"), (b"bad-schema", b'{"schema_version": 1}')]
    items = good[:20] + poison + good[20:]
    producer_topic = kafka.topics.callbacks
    await produce(kafka, producer_topic, items)
    proc = spawn(kafka, ["process", "dedupe", "--port", "0"], log=tmp_path / "d.log")
    try:
        out = await wait_for_count(kafka, kafka.topics.screenshots, 50, timeout_s=60)
        dlq = await wait_for_count(kafka, kafka.topics.dlq, 2, timeout_s=10)
    finally:
        assert stop(proc) == 0
    assert len(out) == 50
    letters = {orjson.loads(v)["source_key"]: orjson.loads(v) for _, _, v in dlq}
    assert set(letters) == {"bad-json", "bad-schema"}
    assert letters["bad-json"]["processor"] == "dedupe"
    assert letters["bad-json"]["value_text"] == "{not json"
    assert letters["bad-schema"]["error"].startswith("invalid CallbackEnvelope")
    assert letters["bad-schema"]["source_topic"] == producer_topic
    assert all(letter["attempts"] == 1 for letter in letters.values())


async def test_retries_exhausted_go_to_dlq_and_replay_after_fix_delivers_them(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    flags_topic = f"{kafka.topic_prefix}shotline.flags.v1"
    await ensure_topics(
        kafka, [TopicSpec(name=flags_topic, partitions=3, replication=1, config={})]
    )
    shots = [
        normalise(envelope(i, project="broken" if i == 7 else "p1"), 60_000) for i in range(30)
    ]
    # All on partition 0: the poison (i=7) sits in the middle of its partition.
    await produce(
        kafka,
        kafka.topics.screenshots,
        [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots],
        partition=0,
    )
    broken = {**FAST_RETRIES, "SHOTLINE_FLAGGER_FAIL_PROJECTS": '["broken"]'}
    proc = spawn(kafka, ["process", FLAGGER, "--port", "0"], broken, tmp_path / "f1.log")
    try:
        flags = await wait_for_count(kafka, flags_topic, 29, timeout_s=60)
        dlq = await wait_for_count(kafka, kafka.topics.dlq, 1, timeout_s=10)
    finally:
        assert stop(proc) == 0, (tmp_path / "f1.log").read_text()
    assert sorted(orjson.loads(v)["request_id"] for _, _, v in flags) == sorted(
        s.request_id for s in shots if s.project == "p1"
    )
    (letter,) = [orjson.loads(v) for _, _, v in dlq]
    assert letter["processor"] == "flagger"
    assert letter["error"] == "RetriableError: project broken: flag store unavailable"
    assert letter["attempts"] == 4  # 3 attempts of the batch, then the record alone
    assert (letter["source_partition"], letter["source_offset"]) == (0, 7)

    listed = shotline(kafka, "dlq", "list", "--processor", "flagger", "--json").stdout
    assert [orjson.loads(line)["source_key"] for line in listed.splitlines()] == ["req-7"]

    fixed = spawn(kafka, ["process", FLAGGER, "--port", "0"], FAST_RETRIES, tmp_path / "f2.log")
    try:
        replay = shotline(kafka, "dlq", "replay", "--processor", "flagger")
        assert "replayed 1 records" in replay.stderr
        flags = await wait_for_count(kafka, flags_topic, 30, timeout_s=60)
    finally:
        assert stop(fixed) == 0, (tmp_path / "f2.log").read_text()
    assert "req-7" in {orjson.loads(v)["request_id"] for _, _, v in flags}
    assert len(await read_all(kafka, kafka.topics.dlq)) == 1


async def test_fatal_error_stops_the_process_with_exit_1_and_commits_nothing(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    flags_topic = f"{kafka.topic_prefix}shotline.flags.v1"
    spec = TopicSpec(name=flags_topic, partitions=3, replication=1, config={})
    await ensure_topics(kafka, [spec])
    shot = normalise(envelope(1, project="doom"), 60_000)
    await produce(kafka, kafka.topics.screenshots, [(b"req-1", shot.model_dump_json().encode())])
    env = {"SHOTLINE_FLAGGER_FATAL_PROJECTS": '["doom"]'}
    proc = spawn(kafka, ["process", FLAGGER, "--port", "0"], env, tmp_path / "fatal.log")
    try:
        code = proc.wait(timeout=60)
    finally:
        stop(proc)
    assert code == 1, (tmp_path / "fatal.log").read_text()
    assert "misconfigured" in (tmp_path / "fatal.log").read_text()
    # Nothing was committed: fixed, the processor handles the record.
    fixed = spawn(kafka, ["process", FLAGGER, "--port", "0"], log=tmp_path / "fixed.log")
    try:
        flags = await wait_for_count(kafka, flags_topic, 1, timeout_s=60)
    finally:
        assert stop(fixed) == 0
    assert [key for _, key, _ in flags] == [b"req-1"]
