"""Shared setup of enrich's integration tests: buckets and queues on the local moto server,
the projects file, screenshots and events on Kafka, and reading results back."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import orjson

from schemas import KafkaSettings, ScreenshotRecord
from tests.conftest import S3_ENDPOINT, s3_client
from tests.integration.processors.runner.streams import produce, read_all

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
s3 = s3_client


def new_bucket(tag: str) -> str:
    name = f"enrich-{tag}-{uuid.uuid4().hex[:8]}"
    s3().create_bucket(Bucket=name)
    return name


def drop_bucket(name: str) -> None:
    client = s3()
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


def notify_to_new_queue(bucket: str) -> str:
    """Configure ``bucket`` to send ObjectCreated events to a fresh moto SQS queue."""
    sqs = boto3.client("sqs", endpoint_url=S3_ENDPOINT, region_name="us-east-1", **KEYS)
    url: str = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    s3().put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    return url


def queue_depth(url: str) -> int:
    """Messages in the queue, visible or in flight."""
    sqs = boto3.client("sqs", endpoint_url=S3_ENDPOINT, region_name="us-east-1", **KEYS)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(found[name]) for name in names)


def drop_queue(url: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=S3_ENDPOINT, region_name="us-east-1", **KEYS)
    sqs.delete_queue(QueueUrl=url)


def project_toml(name: str, bucket: str, endpoint: str, key: str = "testing") -> str:
    return (
        f"[projects.{name}]\n"
        f'callback_addr = "https://hooks.example.com/{name}"\n'
        f'bucket = "{bucket}"\n'
        f's3_endpoint = "{endpoint}"\n'
        f's3_access_key = "{key}"\n'
        's3_secret_key = "testing"\n'
        's3_addressing_style = "path"\n'
    )


def write_config(tmp: Path, *projects: str) -> dict[str, str]:
    path = tmp / "shotline.toml"
    path.write_text("\n".join(projects))
    return {"SHOTLINE_CONFIG": str(path)}


async def feed_screenshots(kafka: KafkaSettings, records: list[ScreenshotRecord]) -> None:
    items = [(r.request_id.encode(), r.model_dump_json().encode()) for r in records]
    await produce(kafka, kafka.topics.screenshots, items)


async def enriched_by_id(kafka: KafkaSettings) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for _, _, value in await read_all(kafka, kafka.topics.enriched, committed=False):
        doc = orjson.loads(value)
        out.setdefault(doc["request_id"], []).append(doc)
    return out


async def dead_by_id(kafka: KafkaSettings) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for _, key, value in await read_all(kafka, kafka.topics.dlq, committed=False):
        out[(key or b"").decode()] = orjson.loads(value)
    return out
