"""Local S3 events for ``make run``: moto's bucket notifications into moto's own SQS.

moto's server delivers a bucket's ObjectCreated notifications only to its in-process SQS,
SNS, Lambda or EventBridge, never to Kafka; so the local pipeline wires it as AWS would be:
bucket → SQS queue → ``shotline s3-events`` → ``shotline.s3events.v1``. The queue is named
after the topic prefix, so pipelines with different prefixes keep their queues apart; a
bucket has one notification configuration, so the last pipeline started on a bucket gets
its events (an earlier one falls back to HeadObject, which gives the same facts).
"""

from __future__ import annotations

import re
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shotline.errors import ServiceError

__all__ = ["notify_bucket_to_queue"]

MOTO_KEY = "testing"  # moto's server takes any key pair


def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=MOTO_KEY, aws_secret_access_key=MOTO_KEY, region_name="us-east-1"
    )
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def notify_bucket_to_queue(endpoint: str, bucket: str, topic_prefix: str) -> str:
    """Create ``bucket`` (if needed) and a queue, point the bucket's ObjectCreated events at
    the queue; return the queue URL. ``ServiceError`` if the S3 server refuses."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{topic_prefix}shotline-s3events")[:80]
    try:
        s3, sqs = (_client(service, endpoint) for service in ("s3", "sqs"))
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            }:
                raise
        url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
    except (BotoCoreError, ClientError) as exc:
        raise ServiceError(f"cannot wire S3 events of {bucket} at {endpoint}: {exc}") from exc
    return url
