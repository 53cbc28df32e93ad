"""Uploading screenshots the way Agora does: a JPEG under the object name, in the bucket.

``S3Store`` is the boto3 adapter (botocore errors stop here and become ``UploadError``);
``ObjectStore`` is the port the engine depends on, so tests can pass an in-memory store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shotline.errors import UploadError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["ObjectStore", "S3Store"]


class ObjectStore(Protocol):
    def ensure_bucket(self) -> None: ...

    def put(self, key: str, body: bytes) -> None: ...


class S3Store:
    """A bucket on S3 or any S3-compatible endpoint. Thread-safe (one boto3 client)."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        region: str,
        access_key: str,
        secret_key: str,
        pool: int = 16,
    ) -> None:
        self.bucket = bucket
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                max_pool_connections=pool,
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=10,
            ),
        )

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (moto and a fresh MinIO start empty)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError:
            pass  # missing (or forbidden: creating says which)
        except BotoCoreError as exc:
            raise UploadError(f"cannot reach the object store: {exc}") from exc
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise UploadError(f"cannot create bucket {self.bucket}: {code}") from exc
        except BotoCoreError as exc:
            raise UploadError(f"cannot create bucket {self.bucket}: {exc}") from exc

    def put(self, key: str, body: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="image/jpeg")
        except (BotoCoreError, ClientError) as exc:
            raise UploadError(f"upload of {key} failed: {exc}") from exc
