"""The HeadObject adapter: boto3 calls in a bounded thread pool, botocore errors translated.

One boto3 client per project (``processors.objectstore.s3_client``, botocore retries off:
the caller's backoff is the only one). Calls run in a ``ThreadPoolExecutor`` of
``head_concurrency`` threads, so at most that many are in flight and the event loop never
blocks on S3. botocore exceptions stop here: every call returns a ``HeadOutcome``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from processors.enrich.logic import Denied, Found, HeadOutcome, Missing, Transient, facts_from_head
from processors.objectstore import S3Failure, s3_client, s3_failure
from schemas import ProjectConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["HeadClient", "ObjectHeads", "head_outcome"]


class ObjectHeads(Protocol):
    """The port the handler depends on (tests may pass a fake)."""

    async def head(self, project: str, bucket: str, key: str) -> HeadOutcome: ...

    def close(self) -> None: ...


def head_outcome(failure: S3Failure) -> HeadOutcome:
    """A failed HeadObject as an outcome."""
    if failure.kind == "missing":
        return Missing()
    if failure.kind == "denied":
        return Denied(failure.detail)
    return Transient(failure.detail)


class HeadClient:
    def __init__(
        self, projects: Mapping[str, ProjectConfig], concurrency: int, timeout_s: float
    ) -> None:
        self._projects = projects
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._clients: dict[str, S3Client] = {}
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="enrich-head")
        self.calls = 0  # HeadObject calls made (tests count them)

    def _client(self, project: str) -> S3Client:
        client = self._clients.get(project)
        if client is None:
            client = self._clients[project] = s3_client(
                self._projects[project],
                max_pool_connections=self._concurrency,
                connect_timeout_s=self._timeout_s,
                read_timeout_s=self._timeout_s,
            )
        return client

    def _head(self, project: str, bucket: str, key: str) -> HeadOutcome:
        try:
            answer: Mapping[str, Any] = self._client(project).head_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:  # BotoCoreError: timeouts, connections
            return head_outcome(s3_failure(exc))
        return Found(facts_from_head(bucket, key, answer))

    async def head(self, project: str, bucket: str, key: str) -> HeadOutcome:
        self.calls += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._head, project, bucket, key)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()
        self._clients.clear()
