"""Publishing to Kafka: the port the app depends on and its aiokafka adapter.

aiokafka's idempotent producer never times a send out, so every call here takes its own
deadline. A producer that keeps failing after an outage can stay wedged (aiokafka issue
#1017, OutOfOrderSequenceNumber until restart): ``recreate`` replaces it. aiokafka errors
never leave this module; callers see ``PublishError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    CorruptRecordException,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from ingest.deadlines import Deadlines
from ingest.errors import PublishError
from ingest.metrics import IngestMetrics
from ingest.records import OutRecord

# Imports, __all__ and logger: a module preamble, alike in shape to other modules'.
__all__ = ["KafkaPublisher", "Publisher", "Sent"]

log = logging.getLogger("shotline.ingest.publisher")

# Errors no retry of the same record can cure: the broker refuses this record itself.
_PERMANENT: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    InvalidTopicError,
    UnknownTopicOrPartitionError,
    CorruptRecordException,
)


class Sent(enum.Enum):
    """Outcome of one record of ``publish_many``."""

    ACKED = "acked"
    FAILED = "failed"  # not acked in time or a transient error: try again later
    REFUSED = "refused"  # the broker refused this record for good (size, authorisation, topic)


class Publisher(Protocol):
    """What the app needs from Kafka. ``publish`` returns only after the broker's ack."""

    @property
    def connected(self) -> bool:
        """True while a started producer exists (the broker answered at least once)."""
        ...

    async def start(self) -> None:
        """Try to connect; a broker that is down is not an error (the spool takes over)."""

    async def stop(self, timeout_s: float) -> None:
        """Flush what is pending for at most ``timeout_s`` and close."""

    async def publish(self, record: OutRecord, deadline_s: float) -> None:
        """Send one record; raise ``PublishError`` if it is not acked within the deadline."""

    async def publish_many(self, records: Sequence[OutRecord], deadline_s: float) -> list[Sent]:
        """Send records in order; return, per record, whether it was acked in time, failed
        (retry later) or was refused for good by the broker."""
        ...

    async def recreate(self) -> bool:
        """Close the current producer (if any) and start a new one; True if it started."""
        ...


class KafkaPublisher:
    """An idempotent (``acks=all``) aiokafka producer with deadlines and recreation."""

    def __init__(
        self,
        client_kwargs: dict[str, Any],
        metrics: IngestMetrics,
        *,
        linger_ms: int = 5,
        max_batch_bytes: int = 262_144,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._kwargs = dict(client_kwargs)
        self._metrics = metrics
        self._linger_ms = linger_ms
        self._max_batch_bytes = max_batch_bytes
        self._connect_timeout_s = connect_timeout_s
        self._producer: Any = None
        self._lock = asyncio.Lock()
        self._deadlines = Deadlines()

    @property
    def connected(self) -> bool:
        return self._producer is not None

    def _build(self) -> Any:
        return AIOKafkaProducer(
            **self._kwargs,
            acks="all",
            enable_idempotence=True,
            linger_ms=self._linger_ms,
            max_batch_size=self._max_batch_bytes,
            request_timeout_ms=int(self._connect_timeout_s * 1000) + 5000,
        )

    async def start(self) -> None:
        async with self._lock:
            if self._producer is None:
                self._producer = await self._start_new()

    async def _start_new(self) -> Any:
        producer = self._build()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await producer.start()
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("Kafka producer could not start: %s", type(exc).__name__)
            self._metrics.producer_errors.labels(kind="connect").inc()
            await _close(producer, 1.0)
            return None
        return producer

    async def recreate(self) -> bool:
        async with self._lock:
            old, self._producer = self._producer, None
            if old is not None:
                self._metrics.producer_recreated.inc()
                log.warning("recreating the Kafka producer after repeated failures")
                await _close(old, 2.0)
            self._producer = await self._start_new()
            return self._producer is not None

    async def stop(self, timeout_s: float) -> None:
        async with self._lock:
            old, self._producer = self._producer, None
        if old is not None:
            await _close(old, timeout_s)

    async def publish(self, record: OutRecord, deadline_s: float) -> None:
        producer = self._producer
        if producer is None:
            self._metrics.producer_errors.labels(kind="not_started").inc()
            raise PublishError("not_started", "no Kafka producer (broker unreachable)")
        entry = self._deadlines.start(deadline_s)
        try:
            fut = await producer.send(
                record.topic, record.value, key=record.key, headers=list(record.headers)
            )
            await fut
        except asyncio.CancelledError:
            # The deadline cancelled us. Cancelling the delivery future is safe: aiokafka
            # skips done futures when the batch resolves, and the record may still land (a
            # duplicate, which dedupe absorbs).
            if not self._deadlines.expired(entry):
                raise
            self._metrics.producer_errors.labels(kind="timeout").inc()
            raise PublishError("timeout", f"no ack within {deadline_s}s") from None
        except KafkaError as exc:
            self._metrics.producer_errors.labels(kind="kafka").inc()
            raise PublishError("kafka", type(exc).__name__) from None
        finally:
            entry.finished = True

    async def publish_many(self, records: Sequence[OutRecord], deadline_s: float) -> list[Sent]:
        producer = self._producer
        if producer is None:
            self._metrics.producer_errors.labels(kind="not_started").inc()
            return [Sent.FAILED] * len(records)
        end = time.monotonic() + deadline_s
        futures: list[asyncio.Future[Any]] = []
        refused_at: int | None = None
        try:
            async with asyncio.timeout(deadline_s):
                for record in records:
                    futures.append(
                        await producer.send(
                            record.topic, record.value, key=record.key, headers=list(record.headers)
                        )
                    )
        except (TimeoutError, KafkaError) as exc:
            self._metrics.producer_errors.labels(kind=_kind(exc)).inc()
            if isinstance(exc, _PERMANENT):
                refused_at = len(futures)  # send() itself refused this record (e.g. too large)
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, end - time.monotonic()))
        results = [_outcome(f) for f in futures]
        for fut in futures:
            if not fut.done():
                fut.cancel()
        if refused_at is not None:
            results.append(Sent.REFUSED)
        if any(r is not Sent.ACKED for r in results) or len(results) < len(records):
            self._metrics.producer_errors.labels(kind="batch").inc()
        return results + [Sent.FAILED] * (len(records) - len(results))


def _outcome(fut: asyncio.Future[Any]) -> Sent:
    if not fut.done() or fut.cancelled():
        return Sent.FAILED
    exc = fut.exception()
    if exc is None:
        return Sent.ACKED
    return Sent.REFUSED if isinstance(exc, _PERMANENT) else Sent.FAILED


def _kind(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else "kafka"


async def _close(producer: Any, timeout_s: float) -> None:
    """Stop a producer; if its flush hangs (broker gone) abandon pending data, which is
    either spooled already or still in the spool, and cancel its background sender."""
    try:
        async with asyncio.timeout(timeout_s):
            await producer.stop()
    except (TimeoutError, KafkaError, OSError):
        sender = getattr(getattr(producer, "_sender", None), "sender_task", None)
        if sender is not None:
            sender.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await producer.client.close()
