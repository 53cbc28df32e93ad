"""boto3 S3 clients for a project's bucket: the one place they are built.

Used by every stage that talks to a project's store (enrich's HeadObject fallback, the
reconciler's listing, moderation's presigned URLs and downloads). Keys come from the
project's config when set; otherwise boto3's standard credential chain applies
(environment, profile, IRSA web identity, instance role). ``s3_addressing_style`` picks
path-style (most self-hosted stores) or virtual-hosted style (Alibaba OSS's S3 endpoint).

``s3_failure`` is the one reading of a botocore error those stages share: the object is
missing, access is denied (retrying will not help), or the failure is transient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from schemas import ProjectConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "S3Failure",
    "S3FailureKind",
    "s3_client",
    "s3_failure",
    "sqs_client",
]

S3FailureKind = Literal["missing", "denied", "transient"]

# One set for every call (HeadObject, GetObject): a HEAD answer has no body, so often only
# its status is known; GetObject names NoSuchVersion for a versioned read; a bad key or
# signature is denied on any call and no retry mends it.
_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion"})
_DENIED = frozenset(
    {"401", "403", "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)


@dataclass(frozen=True, slots=True)
class S3Failure:
    """A botocore error read: ``code`` is the S3 error code, the HTTP status when the
    answer had no body, or the botocore exception's name (timeouts, connections)."""

    kind: S3FailureKind
    code: str
    message: str

    @property
    def detail(self) -> str:
        return f"{self.code}: {self.message}".strip()


def _kind(code: str, status: int = 0) -> S3FailureKind:
    """What an S3 error code (and HTTP status, 0 when unknown) means for the caller."""
    if code in _MISSING or status == 404:
        return "missing"
    if code in _DENIED or status in (401, 403):
        return "denied"
    return "transient"


def s3_failure(exc: BotoCoreError | ClientError) -> S3Failure:
    """``exc`` classified; a ``BotoCoreError`` (no answer at all) is always transient."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = str(error.get("Code", ""))
        kind = _kind(code, status)
        return S3Failure(kind, code or str(status), str(error.get("Message", "")))
    return S3Failure("transient", type(exc).__name__, str(exc))


def _keys(project: ProjectConfig | None) -> tuple[str | None, str | None]:
    if project is None or project.s3_access_key is None or project.s3_secret_key is None:
        return None, None
    return project.s3_access_key.get_secret_value(), project.s3_secret_key.get_secret_value()


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
    access_key, secret_key = _keys(project)
    config = Config(
        max_pool_connections=max_pool_connections,
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        signature_version="s3v4",  # presigned URLs too (botocore may presign with SigV2)
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


def sqs_client(queue_url: str, project: ProjectConfig | None = None) -> Any:
    """An SQS client for ``queue_url`` (the S3 event bridge). On AWS the region comes from
    the queue's host (``sqs.<region>.amazonaws.com``); any other host is used as the
    endpoint (moto, ElasticMQ) with the project's region. Keys as for ``s3_client``."""
    parts = urlsplit(queue_url)
    host = parts.hostname or ""
    endpoint: str | None = f"{parts.scheme}://{parts.netloc}"
    region = project.s3_region if project is not None else "us-east-1"
    if host.endswith(".amazonaws.com"):
        endpoint, region = None, host.split(".")[1]
    access_key, secret_key = _keys(project)
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"total_max_attempts": 3, "mode": "standard"}, read_timeout=30),
    )
