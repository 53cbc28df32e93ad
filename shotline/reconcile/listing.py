"""Listing a project's bucket: the S3 adapter of the reconciler (botocore stays in here).

One ListObjectsV2 paginator per day folder (1,000 keys a page, the API's maximum). Only the
key and LastModified of each object are used. botocore parses every timestamp with
dateutil, 112 µs each (measured), which was the largest client-side cost of a listing; the
client's response parser is given ``datetime.fromisoformat`` instead (0.2 µs; S3's XML
timestamps are ISO 8601), falling back to botocore's parser for any other form.

botocore's errors become ``ListingError`` with a one-line cause: a missing bucket, denied
access or an unreachable endpoint is a clear message, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp

from shotline.errors import ListingError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["Listed", "fast_timestamps", "list_objects"]


@dataclass(frozen=True, slots=True)
class Listed:
    key: str
    last_modified: datetime


def _explain(bucket: str, exc: Exception) -> str:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            return f"bucket {bucket!r} does not exist"
        if code in ("AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId"):
            return f"access to bucket {bucket!r} denied ({code})"
        return f"listing bucket {bucket!r} failed: {code or exc}"
    return f"listing bucket {bucket!r} failed: {exc}"


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        fallback: datetime = parse_timestamp(value)
        return fallback
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def fast_timestamps(client: S3Client) -> None:
    """Parse this client's response timestamps with ``_timestamp`` (see the module).
    botocore makes a parser per response from its endpoint's factory, which comes from the
    client's session; ``objectstore.s3_client`` makes a session per client, so only this
    client is affected. A botocore without these attributes keeps its own parser."""
    endpoint = getattr(client, "_endpoint", None)
    factory = getattr(endpoint, "_response_parser_factory", None)
    if factory is not None and hasattr(factory, "set_parser_defaults"):
        factory.set_parser_defaults(timestamp_parser=_timestamp)


def list_objects(client: S3Client, bucket: str, prefix: str) -> Iterator[list[Listed]]:
    """The objects under ``prefix``, one list per page; ``ListingError`` on failure."""
    fast_timestamps(client)
    paginator = client.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000})
    try:
        for page in pages:
            yield [Listed(o["Key"], o["LastModified"]) for o in page.get("Contents", ())]
    except (ClientError, BotoCoreError) as exc:
        raise ListingError(_explain(bucket, exc)) from None
