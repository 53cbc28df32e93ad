"""``kind = "rekognition"``: AWS Rekognition ``DetectModerationLabels`` through boto3.

The image is passed as ``Image.S3Object`` (bucket, key, version): no bytes move. Rekognition
reads the object itself, so the bucket must be in the same region as the Rekognition
endpoint and the caller's role needs ``s3:GetObject`` on it. For a bucket elsewhere (another
region, another store) set ``send_bytes``: the object is downloaded and sent inline (at most
5 MB, Rekognition's limit; larger ones are rejected). Confidence 0..100 becomes a score 0..1.
Credentials: boto3's standard chain; botocore retries are off (the guard retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from processors.errors import ProviderRejected, ProviderRetriable
from processors.moderate.providers.base import ImageRequest, ImageSource, ProviderAnswer
from processors.moderate.settings import RekognitionProviderConfig
from schemas.moderation import ModerationLabel

__all__ = ["INLINE_LIMIT_BYTES", "RekognitionProvider"]

INLINE_LIMIT_BYTES = 5 * 1024 * 1024
_RETRIABLE = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"}
)
ClientFactory = Callable[[str], Any]


class RekognitionProvider:
    batch_size = 1

    def __init__(
        self,
        name: str,
        config: RekognitionProviderConfig,
        images: ImageSource,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self._images = images
        self._factory = client_factory or self._new_client
        self._clients: dict[str, Any] = {}

    def _new_client(self, region: str) -> Any:
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        return boto3.session.Session().client(
            "rekognition",
            region_name=region,
            endpoint_url=self.config.endpoint_url,
            config=config,
        )

    def client(self, region: str) -> Any:
        if region not in self._clients:
            self._clients[region] = self._factory(region)
        return self._clients[region]

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._clients.clear()

    async def image_param(self, item: ImageRequest) -> dict[str, Any]:
        if not self.config.send_bytes:
            s3_object = {"Bucket": item.bucket, "Name": item.key}
            if item.version_id:
                s3_object["Version"] = item.version_id
            return {"S3Object": s3_object}
        if item.size > INLINE_LIMIT_BYTES:
            raise ProviderRejected(
                f"{self.name}: {item.size} B is above Rekognition's 5 MB inline limit",
                "image_too_large",
            )
        return {"Bytes": await self._images.fetch(item)}

    async def call(self, items: Sequence[ImageRequest]) -> list[ProviderAnswer]:
        (item,) = items
        client = self.client(self.config.region or item.config.s3_region)
        image = await self.image_param(item)
        try:
            response = await asyncio.to_thread(
                client.detect_moderation_labels,
                Image=image,
                MinConfidence=self.config.min_confidence,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _RETRIABLE:
                cause = "status_5xx" if code == "InternalServerError" else "status_429"
                raise ProviderRetriable(f"{self.name}: {code}", cause) from exc
            raise ProviderRejected(f"{self.name}: {code}: {exc}") from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise ProviderRetriable(f"{self.name}: {exc}", "timeout") from exc
        except BotoCoreError as exc:
            raise ProviderRetriable(f"{self.name}: {exc}", "transport") from exc
        try:
            labels = tuple(
                ModerationLabel(name=str(label["Name"]), score=float(label["Confidence"]) / 100)
                for label in response.get("ModerationLabels", [])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderRetriable(f"{self.name}: unusable answer: {exc}", "garbage") from exc
        model = f"rekognition-{response.get('ModerationModelVersion', 'unknown')}"
        return [ProviderAnswer(labels=labels, model=model)]
