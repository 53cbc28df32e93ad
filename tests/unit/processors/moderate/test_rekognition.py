"""Rekognition's request shape, checked by botocore's Stubber: S3Object (no bytes),
MinConfidence, confidence → score, and a ThrottlingException retried by the guard."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from prometheus_client import CollectorRegistry

from processors.errors import ProviderRejected
from processors.moderate.guard import Guard
from processors.moderate.observe import ModerationMetrics
from processors.moderate.providers.base import ImageRequest
from processors.moderate.providers.rekognition import INLINE_LIMIT_BYTES, RekognitionProvider
from processors.moderate.settings import RekognitionProviderConfig
from tests.unit.processors.moderate.shots import BUCKET, project


class NoBytes:
    async def presign(self, item: ImageRequest, expiry_s: int) -> str:
        raise AssertionError("Rekognition reads the object itself")

    async def fetch(self, item: ImageRequest) -> bytes:
        raise AssertionError("Rekognition reads the object itself")


class OneImage:
    async def presign(self, item: ImageRequest, expiry_s: int) -> str:
        raise AssertionError("not used")

    async def fetch(self, item: ImageRequest) -> bytes:
        return b"\xff\xd8jpeg bytes"


def _item(size: int = 1000) -> ImageRequest:
    return ImageRequest(
        request_id="req-1",
        project="p1",
        channel="room",
        user_id="42",
        timestamp=1,
        bucket=BUCKET,
        key="shots/20260301/a.jpg",
        size=size,
        version_id="v1",
        config=project(None, s3_region="eu-west-1"),
    )


async def test_detect_moderation_labels_by_s3_object_with_throttling_retry() -> None:
    client = boto3.client(
        "rekognition",
        region_name="eu-west-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    stubber = Stubber(client)
    expected = {
        "Image": {"S3Object": {"Bucket": BUCKET, "Name": "shots/20260301/a.jpg", "Version": "v1"}},
        "MinConfidence": 60.0,
    }
    stubber.add_client_error(
        "detect_moderation_labels", "ThrottlingException", http_status_code=400
    )
    stubber.add_response(
        "detect_moderation_labels",
        {
            "ModerationLabels": [
                {"Confidence": 91.5, "Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1}
            ],
            "ModerationModelVersion": "7.0",
        },
        expected,
    )
    regions: list[str] = []

    def factory(region: str) -> object:
        regions.append(region)
        return client

    config = RekognitionProviderConfig(min_confidence=60, backoff_initial_s=0.01)
    provider = RekognitionProvider("rek", config, NoBytes(), client_factory=factory)
    guard = Guard(provider, config, 3, ModerationMetrics.create(CollectorRegistry()))
    with stubber:
        (answer,) = await guard.run([_item()])
    stubber.assert_no_pending_responses()
    assert regions == ["eu-west-1"]  # the bucket's region: the same-region rule
    assert not isinstance(answer, Exception)
    assert answer.model == "rekognition-7.0"
    assert [(lbl.name, lbl.score) for lbl in answer.labels] == [("Explicit", 0.915)]


async def test_send_bytes_passes_the_image_inline_up_to_5_mb() -> None:
    client = boto3.client(
        "rekognition", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    stubber = Stubber(client)
    expected = {"Image": {"Bytes": b"\xff\xd8jpeg bytes"}, "MinConfidence": 50.0}
    stubber.add_response("detect_moderation_labels", {"ModerationLabels": []}, expected)
    config = RekognitionProviderConfig(send_bytes=True)
    provider = RekognitionProvider("rek", config, OneImage(), client_factory=lambda r: client)
    with stubber:
        (answer,) = await provider.call([_item()])
    stubber.assert_no_pending_responses()
    assert not isinstance(answer, Exception)
    assert answer.labels == ()
    with pytest.raises(ProviderRejected) as too_large:
        await provider.call([_item(size=INLINE_LIMIT_BYTES + 1)])
    assert too_large.value.reason == "image_too_large"
