"""Enriched screenshots and a running ModerateProcessor for moderation tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from processors.dedupe.logic import normalise
from processors.moderate.handler import ModerateProcessor
from processors.runner.contract import Context, Record
from schemas import EnrichedScreenshot, KafkaSettings, ProjectConfig, S3ObjectFacts
from tests.callbacks_factory import envelope

BUCKET = "shotline-moderation-test"


def moto_bucket() -> Any:
    """A boto3 client of the local S3 server (moto) with the test bucket created."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket=BUCKET)
    return s3


def enriched(i: int, *, project: str = "p1", cname: str = "room_1") -> EnrichedScreenshot:
    shot = normalise(envelope(i, project=project, cname=cname), 60_000)
    facts = S3ObjectFacts(
        bucket=BUCKET,
        key=shot.callback.object,
        size=1234,
        etag="0" * 32,
        content_type="image/jpeg",
        last_modified=datetime(2026, 3, 1, tzinfo=UTC),
        source="head",
    )
    return EnrichedScreenshot(**shot.model_dump(exclude={"schema_version"}), s3=facts)


def record(shot: EnrichedScreenshot, offset: int, partition: int = 0) -> Record[Any]:
    return Record(
        value=shot,
        key=shot.request_id,
        topic="shotline.screenshots.enriched.v1",
        partition=partition,
        offset=offset,
        timestamp_ms=0,
    )


def project(moderation: Mapping[str, Any] | None, **fields: Any) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "callback_addr": "https://example.test/cb",
            "bucket": BUCKET,
            "s3_endpoint": "http://127.0.0.1:9000",
            "s3_access_key": "test",
            "s3_secret_key": "test",
            "moderation": moderation,
            **fields,
        }
    )


async def started(
    projects: Mapping[str, ProjectConfig], settings: Mapping[str, Any]
) -> tuple[ModerateProcessor, CollectorRegistry]:
    registry = CollectorRegistry()
    proc = ModerateProcessor()
    ctx = Context(
        kafka=KafkaSettings(topic_prefix="t."),
        projects=dict(projects),
        registry=registry,
        settings=dict(settings),
    )
    await proc.start(ctx)
    return proc, registry
