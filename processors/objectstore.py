"""boto3 S3 clients for a project's bucket: the one place they are built.

Used by every stage that talks to a project's store (enrich's HeadObject fallback, the
reconciler's listing, moderation's presigned URLs and downloads). Keys come from the
project's config when set; otherwise boto3's standard credential chain applies
(environment, profile, IRSA web identity, instance role). ``s3_addressing_style`` picks
path-style (most self-hosted stores) or virtual-hosted style (Alibaba OSS's S3 endpoint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from schemas import ProjectConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["s3_client"]


def s3_client(
    project: ProjectConfig,
    *,
    max_pool_connections: int = 32,
    connect_timeout_s: float = 5.0,
    read_timeout_s: float = 10.0,
    max_attempts: int = 1,
) -> S3Client:
    """A client for ``project``'s store. ``max_attempts`` defaults to 1 (botocore retries
    nothing): the caller owns retries, so its backoff and budget are the only ones."""
    access_key = secret_key = None
    if project.s3_access_key is not None and project.s3_secret_key is not None:
        access_key = project.s3_access_key.get_secret_value()
        secret_key = project.s3_secret_key.get_secret_value()
    config = Config(
        max_pool_connections=max_pool_connections,
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        s3=(
            {"addressing_style": project.s3_addressing_style}
            if project.s3_addressing_style is not None
            else None
        ),
    )
    session = boto3.session.Session()  # clients of one session share no mutable state
    return session.client(
        "s3",
        endpoint_url=project.s3_endpoint,
        region_name=project.s3_region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )
