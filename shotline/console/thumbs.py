"""Thumbnails: the screenshot's bytes from the project's bucket (``proxy``, the default:
works offline and for stores the browser cannot reach), or a presigned GET URL for the
browser (``presigned``). Clients come from ``processors.objectstore``, one per project."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from processors.objectstore import s3_client
from schemas import ProjectConfig
from shotline.errors import ThumbnailMissing

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["Thumbnails"]

MAX_BYTES = 8 << 20


class Thumbnails:
    def __init__(self, projects: dict[str, ProjectConfig], expiry_s: int) -> None:
        self._projects = projects
        self._expiry_s = expiry_s
        self._clients: dict[str, S3Client] = {}

    def _client(self, project: str) -> S3Client:
        if project not in self._clients:
            config = self._projects.get(project)
            if config is None:
                raise ThumbnailMissing(f"project {project!r} is not configured")
            self._clients[project] = s3_client(config, max_attempts=2)
        return self._clients[project]

    async def fetch(self, project: str, bucket: str, key: str) -> tuple[bytes, str]:
        """The object's bytes and content type."""

        def get() -> tuple[bytes, str]:
            answer = self._client(project).get_object(Bucket=bucket, Key=key)
            if answer.get("ContentLength", 0) > MAX_BYTES:
                raise ThumbnailMissing("object too large for a thumbnail")
            return answer["Body"].read(), answer.get("ContentType") or "image/jpeg"

        try:
            return await asyncio.to_thread(get)
        except (BotoCoreError, ClientError) as exc:
            raise ThumbnailMissing(f"{type(exc).__name__}") from exc

    def presigned(self, project: str, bucket: str, key: str) -> str:
        try:
            url: str = self._client(project).generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self._expiry_s
            )
        except (BotoCoreError, ClientError) as exc:
            raise ThumbnailMissing(f"{type(exc).__name__}") from exc
        return url
