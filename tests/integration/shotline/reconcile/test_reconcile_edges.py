"""``shotline reconcile``'s edges against the local S3 server and the real broker: dry run,
objects that are not Agora screenshots, a range across midnight, the grace period,
``missing_object`` dead letters, the metrics file, an empty and a missing bucket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas import DeadLetterRecord, KafkaSettings, compact_utc
from tests.integration.processors.runner.streams import read_all
from tests.integration.shotline.reconcile.harness import (
    PREFIX,
    PROJECT,
    environment,
    new_bucket,
    reconcile,
    s3,
    shotline,
    write_config,
)

pytestmark = [pytest.mark.kafka, pytest.mark.s3]

MIDNIGHT = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(days=1)  # 2026-12-01 00:00 UTC


def name(at: datetime, n: int) -> str:
    utc = compact_utc(at)
    return f"{PREFIX}/{utc[:8]}/{n:032x}_room_{n}__uid_s_{n}__uid_e_video_{utc}.jpg"


async def dead_letter(kafka: KafkaSettings, object_name: str, processor: str = "enrich") -> None:
    value = (
        f'{{"project":"{PROJECT}","request_id":"r","callback":{{"object":"{object_name}"}}}}'
    ).encode()
    letter = DeadLetterRecord(
        processor=processor,
        error="object not found",
        error_type="MissingObject",
        reason="missing_object",
        attempts=1,
        retriable=False,
        source_topic=kafka.topics.screenshots,
        source_partition=0,
        source_offset=0,
        source_timestamp_ms=0,
        first_failure_at=MIDNIGHT,
        last_failure_at=MIDNIGHT,
        **DeadLetterRecord.source_fields(b"k", []),  # type: ignore[arg-type]
        **DeadLetterRecord.value_fields(value),
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(kafka.topics.dlq, letter.model_dump_json().encode())
    finally:
        await producer.stop()


async def test_dry_run_across_midnight_counts_and_skips_and_publishes_nothing(
    kafka: KafkaSettings, tmp_path: Path, buckets: list[str]
) -> None:
    bucket = new_bucket(buckets)
    client = s3()
    in_range = [name(MIDNIGHT - timedelta(minutes=2), 1), name(MIDNIGHT + timedelta(minutes=3), 2)]
    outside = [name(MIDNIGHT - timedelta(hours=2), 3)]  # same day folder, before --since
    foreign = [f"{PREFIX}/20261201/notes.txt", f"{PREFIX}/20261201/cat.jpg"]
    for key in in_range + outside + foreign:
        client.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8")
    client.put_object(Bucket=bucket, Key=name(MIDNIGHT + timedelta(days=1), 4), Body=b"x")
    await dead_letter(kafka, name(MIDNIGHT + timedelta(minutes=1), 5))
    await dead_letter(kafka, name(MIDNIGHT + timedelta(minutes=1), 6), processor="moderate")
    await dead_letter(kafka, name(MIDNIGHT + timedelta(hours=5), 7))  # outside the range
    env = environment(kafka, write_config(tmp_path / "c.toml", bucket, "https://h/cb"))
    metrics = tmp_path / "reconcile.prom"
    since, until = "2026-11-30T23:00:00Z", "2026-12-01T01:00:00"  # naive is UTC
    summary = reconcile(
        env, "--since", since, "--until", until, "--grace", "0", "--dry-run",
        "--metrics-file", str(metrics),
    )  # fmt: skip
    project = summary["projects"][0]
    assert project["prefixes"] == [f"{PREFIX}/20261130/", f"{PREFIX}/20261201/"]
    assert summary["listed"] == 5  # day 3's folder is not listed
    assert summary["skipped"] == {"not_agora": 2, "out_of_range": 1, "too_recent": 0}
    assert (summary["seen"], summary["missing_callbacks"], summary["published"]) == (0, 2, 0)
    assert sorted(project["missing_callback_keys"]) == sorted(in_range)
    assert project["missing_object_keys"] == [name(MIDNIGHT + timedelta(minutes=1), 5)]
    assert summary["dry_run"] is True
    assert await read_all(kafka, kafka.topics.callbacks) == []
    text = metrics.read_text()
    assert f'shotline_reconcile_missing_callbacks_total{{project="{PROJECT}"}} 2.0' in text
    assert f'shotline_reconcile_published_callbacks_total{{project="{PROJECT}"}} 0.0' in text
    assert 'reason="not_agora"} 2.0' in text

    # the default grace (600 s) keeps objects uploaded just now out of the candidates
    recent = reconcile(env, "--since", since, "--until", until, "--dry-run")
    assert recent["skipped"]["too_recent"] == 2
    assert recent["missing_callbacks"] == 0


async def test_empty_and_missing_buckets_get_one_clear_line_and_no_traceback(
    kafka: KafkaSettings, tmp_path: Path, buckets: list[str]
) -> None:
    empty = new_bucket(buckets)
    env = environment(kafka, write_config(tmp_path / "e.toml", empty, "https://h/cb"))
    code, out, err = shotline(env, "reconcile", "--project", PROJECT, "--since", "-30m")
    assert code == 0, err
    assert f"no objects under s3://{empty}/{PREFIX}/" in err.replace("\n", "")
    assert "Traceback" not in out + err

    missing = new_bucket(buckets, create=False)
    env = environment(kafka, write_config(tmp_path / "m.toml", missing, "https://h/cb"))
    code, out, err = shotline(env, "reconcile", "--project", PROJECT, "--since", "-30m", "--json")
    assert code == 1
    assert f"bucket '{missing}' does not exist" in err
    assert "Traceback" not in out + err
    code, _, err = shotline(env, "reconcile", "--since", "-30m")
    assert code == 2
    assert "exactly one of --project KEY or --all-projects" in err

    # --all-projects: the missing bucket fails its project only; the other is reconciled
    both = tmp_path / "both.toml"
    write_config(both, missing, "https://h/cb")
    other = (tmp_path / "e.toml").read_text().replace(f"[projects.{PROJECT}]", "[projects.other]")
    both.write_text(both.read_text() + other + "[projects.nobucket]\ncallback_addr = 'x'\n")
    env = environment(kafka, both)
    code, out, err = shotline(env, "reconcile", "--all-projects", "--since", "-30m", "--json")
    assert code == 1, err
    summary = json.loads(out)
    assert [(p["project"], p["error"]) for p in summary["projects"]] == [
        (PROJECT, f"bucket '{missing}' does not exist"),
        ("other", None),
    ]
