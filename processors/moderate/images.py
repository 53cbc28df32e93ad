"""``ImageSource`` over the projects' S3 buckets (``processors.objectstore.s3_client``).

boto3 is blocking, so calls run in worker threads. One client per project, built on first
use. botocore errors are translated here (``processors.objectstore.s3_failure``): a missing
object or denied access rejects the image (dead letter ``missing_object`` /
``access_denied``); anything else is transient.
"""

from __future__ import annotations

import asyncio
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from processors.errors import ProviderRejected, ProviderRetriable
from processors.moderate.providers.base import ImageRequest
from processors.objectstore import s3_client, s3_failure

__all__ = ["S3Images"]

_REASONS = {"missing": "missing_object", "denied": "access_denied"}  # dead-letter reasons


class S3Images:
    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def _client(self, item: ImageRequest) -> Any:
        client = self._clients.get(item.project)
        if client is None:
            client = self._clients[item.project] = s3_client(item.config)
        return client

    def _params(self, item: ImageRequest) -> dict[str, str]:
        params = {"Bucket": item.bucket, "Key": item.key}
        if item.version_id:
            params["VersionId"] = item.version_id
        return params

    async def presign(self, item: ImageRequest, expiry_s: int) -> str:
        client = self._client(item)
        try:  # signing is local (no request), cheap enough for the loop
            url: str = client.generate_presigned_url(
                "get_object", Params=self._params(item), ExpiresIn=expiry_s
            )
        except (BotoCoreError, ClientError) as exc:
            raise ProviderRetriable(f"presigning {item.key}: {exc}", "transport") from exc
        return url

    async def fetch(self, item: ImageRequest) -> bytes:
        client = self._client(item)

        def download() -> bytes:
            body = client.get_object(**self._params(item))["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        try:
            return await asyncio.to_thread(download)
        except (ClientError, BotoCoreError) as exc:
            failure = s3_failure(exc)
            where = f"s3://{item.bucket}/{item.key}: {failure.detail}"
            reason = _REASONS.get(failure.kind)
            if reason is not None:
                raise ProviderRejected(where, reason) from exc
            raise ProviderRetriable(where, "transport") from exc
