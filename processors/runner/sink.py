"""Where a processor's output goes: the aiokafka producer adapter.

Two sinks share one job — publish a poll's output, then move the input offsets past it:

* ``TransactionalSink`` (``exactly_once``): one transactional producer per engine,
  ``transactional.id = shotline-<processor>-<input topic>-<host>-<slot>``. The engine submits
  each partition's batch and flushes once per poll; the flushed batches' output, dead letters
  and input offsets commit in ONE transaction (about six broker requests, whatever the number
  of partitions). Zombies are fenced by the consumer group (KIP-447, ``kip447``): offsets
  commit with the consumer's generation, so a member a rebalance left behind can only abort,
  and a new owner's offset fetch waits while a transaction holds offsets for the partition.
  The slot (``claim_instance``) makes a restart on the same host take the same id, so it
  fences its predecessor's open transaction at once instead of after its timeout.
* ``AtLeastOnceSink`` (the FastStream engine's): one idempotent ``acks=all`` producer; the
  engine commits offsets only after every send of the batch is acknowledged (60 s deadline).
  Not FastStream's ``broker.publish``: it takes headers as ``dict[str, str]`` and adds its
  own ``content-type``, so it cannot pass a consumed record's headers on exactly (binary
  values, repeats, nulls: the ``Emit`` contract), and ``publish_batch`` gives a whole batch
  one header set.

aiokafka errors never leave this module: they become ``SinkError`` (retriable).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import socket
import stat
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import InvalidProducerEpoch, KafkaError, ProducerFenced
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from processors.errors import SinkError
from processors.runner.codec import Encoded
from processors.runner.kip447 import GroupMember, fence_by_generation
from schemas import KafkaSettings
from schemas.partitioner import kafka_partitioner

__all__ = ["AtLeastOnceSink", "OutputSink", "TransactionalSink", "claim_instance"]

log = logging.getLogger("shotline.processors")


async def _send_all(producer: Any, records: Sequence[Encoded]) -> None:
    """Send every record and wait for all acks. Pinned and keyed records go in
    per-partition batches (a keyed one where Kafka's partitioner puts it, as ``send`` would:
    every producer here is built with ``schemas.partitioner``); only keyless ones, which
    the partitioner scatters, go through ``send``, which costs tens of µs more per record."""
    futures: list[asyncio.Future[Any]] = []
    builders: dict[tuple[str, int], Any] = {}
    placed: dict[str, list[int]] = {}  # topic → its partitions, sorted
    for rec in records:
        partition = rec.partition
        if partition is None and rec.key is not None:
            parts = placed.get(rec.topic)
            if parts is None:
                parts = placed[rec.topic] = sorted(await producer.partitions_for(rec.topic))
            partition = kafka_partitioner(rec.key, parts, parts)
        if partition is None:
            futures.append(
                await producer.send(rec.topic, rec.value, key=rec.key, headers=rec.headers)
            )
            continue
        where = (rec.topic, partition)
        builder = builders.get(where)
        if builder is None:
            builder = builders[where] = producer.create_batch()
        if builder.append(key=rec.key, value=rec.value, timestamp=None, headers=rec.headers):
            continue
        futures.append(await producer.send_batch(builder, rec.topic, partition=partition))
        builder = builders[where] = producer.create_batch()
        if not builder.append(key=rec.key, value=rec.value, timestamp=None, headers=rec.headers):
            raise SinkError(f"a record of {len(rec.value)} bytes exceeds the batch size")
    for (topic, partition), builder in builders.items():
        if builder.record_count():
            futures.append(await producer.send_batch(builder, topic, partition=partition))
    await asyncio.gather(*futures)


@dataclass(slots=True)
class _Submitted:
    partition: int
    records: Sequence[Encoded]
    next_offset: int
    done: asyncio.Future[None]
    handled_as: GroupMember | None = None  # the group member that handled it (at flush)


# Errors after which this process no longer holds its transactional.id: another producer
# took it (a restarted instance, or one with the same id elsewhere) or the broker timed the
# transaction out and bumped the epoch. aiokafka asserts on a producer in its fatal state.
_FENCED = (ProducerFenced, InvalidProducerEpoch, AssertionError)

# A record this close to the producer's 1 MiB limits is measured before it is submitted, so
# it fails its own partition, not the transaction it would share with others.
_MAX_BATCH = 1 << 20
_CHECK_ABOVE = _MAX_BATCH - 4096


class TransactionalSink:
    def __init__(
        self,
        kafka: KafkaSettings,
        processor: str,
        input_topic: str,
        group: str,
        timeout_ms: int,
        member: Callable[[], GroupMember | None],
        instance: str | None = None,
        ended: Callable[[bool], None] | None = None,
    ) -> None:
        self._kafka = kafka
        self._processor = processor
        self._topic = input_topic
        self._group = group
        self._timeout_ms = timeout_ms
        self._member = member
        self._instance = instance
        self._ended = ended or (lambda committed: None)  # each transaction's outcome
        self._slot: IO[str] | None = None  # the lock file that holds this host's slot
        self._producer: Any = None
        self._building: list[_Submitted] = []  # submitted since the last flush
        self._closed: list[_Submitted] = []  # flushed, waiting for the next transaction
        self._flusher: asyncio.Task[None] | None = None
        self._committing_as: GroupMember | None = None  # the transaction in flight's member

    @property
    def transactional_id(self) -> str:
        if self._instance is None:
            self._instance, self._slot = claim_instance(f"{self._processor}-{self._topic}")
        return f"shotline-{self._processor}-{self._topic}-{self._instance}"

    async def open(self, partitions: set[int]) -> None:
        """Start the producer if there is none (the engine's start, or after a transaction
        failed). Starting it fences an older producer of the same ``transactional.id`` (this
        instance before a ``kill -9``, or this one's own failed producer) and aborts its open
        transaction."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            **self._kafka.producer_kwargs(),
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self._timeout_ms,
            linger_ms=5,
            max_batch_size=_MAX_BATCH,
        )
        fence_by_generation(producer, self._committer)
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise SinkError(f"cannot start the transactional producer: {exc!r}") from exc
        self._producer = producer

    async def close(self, partitions: set[int]) -> None:
        """Nothing per partition: the engine has waited for their commits in flight, and the
        producer serves the partitions that stay."""

    def submit(
        self, partition: int, records: Sequence[Encoded], next_offset: int
    ) -> asyncio.Future[None]:
        """Queue ``partition``'s batch: ``records`` and the offset ``next_offset``. The
        future ends when the transaction holding it committed, or raises ``SinkError``:
        then nothing of it is visible to ``read_committed`` readers, and the caller must
        ``close`` and re-``open`` the partition. A record too big for a producer batch fails
        its own batch here, before it can fail a transaction shared with other partitions."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        oversized = self._oversized(records)
        if oversized is not None:
            done.set_exception(SinkError(f"a record of {oversized} bytes exceeds the batch size"))
        else:
            self._building.append(_Submitted(partition, records, next_offset, done))
        return done

    @staticmethod
    def _oversized(records: Sequence[Encoded]) -> int | None:
        """The size of the first record too big to send (its batch's estimated bytes over
        the producer's 1 MiB request and batch limits), if any."""
        for rec in records:
            if len(rec.value) + len(rec.key or b"") < _CHECK_ABOVE:
                continue
            size = int(
                DefaultRecordBatchBuilder.estimate_size_in_bytes(rec.key, rec.value, rec.headers)
            )
            if size > _MAX_BATCH:
                return size
        return None

    def flush(self) -> None:
        """The batches submitted so far go in one transaction, started as soon as the one in
        flight (if any) has ended; batches flushed meanwhile, by the same group member, join
        that next one. The engine flushes under its lock, once per poll: the member read now
        is the one that handled them, and their offsets commit only while it still is."""
        if self._building:
            handled_as = self._member()
            for batch in self._building:
                batch.handled_as = handled_as
            self._closed.extend(self._building)
            self._building = []
        if self._closed and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._commit_closed())

    def _committer(self) -> GroupMember | None:
        """Who the transaction in flight commits as, read when its offsets are sent: the
        member that handled its batches if the consumer still is that member, else None
        (the offsets are refused and the transaction aborts)."""
        handled_as = self._committing_as
        return handled_as if handled_as is not None and handled_as == self._member() else None

    async def _commit_closed(self) -> None:
        while self._closed:
            handled_as = self._closed[0].handled_as
            cut = next(
                (i for i, b in enumerate(self._closed) if b.handled_as != handled_as),
                len(self._closed),
            )
            batches, self._closed = self._closed[:cut], self._closed[cut:]
            self._committing_as = handled_as
            try:
                await self._transaction(batches)
            except BaseException as exc:  # SinkError, a bug, or a cancelled stop
                self._ended(False)
                failure = exc if isinstance(exc, Exception) else SinkError(repr(exc))
                for batch in batches:
                    if not batch.done.done():
                        batch.done.set_exception(failure)
                if not isinstance(exc, Exception):
                    raise
                continue
            finally:
                self._committing_as = None
            self._ended(True)
            for batch in batches:
                if not batch.done.done():
                    batch.done.set_result(None)

    async def _transaction(self, batches: list[_Submitted]) -> None:
        producer = self._producer
        if producer is None:
            raise SinkError("the transactional producer failed; its partitions must reopen")
        try:
            await producer.begin_transaction()
            await _send_all(producer, [rec for batch in batches for rec in batch.records])
            offsets = {TopicPartition(self._topic, b.partition): b.next_offset for b in batches}
            await producer.send_offsets_to_transaction(offsets, self._group)
            await producer.commit_transaction()
        except BaseException as exc:
            with contextlib.suppress(KafkaError, AssertionError):
                await producer.abort_transaction()
            # Never reuse a producer after a failed transaction: some of aiokafka's error
            # paths forget what the transaction holds, so its abort sends no EndTxn and the
            # broker would add the next batches to it. The partitions reopen with a new
            # producer; its start aborts whatever the broker still holds for this id.
            await self._drop(producer, fenced=isinstance(exc, _FENCED))
            if isinstance(exc, (KafkaError, AssertionError)):
                raise SinkError(f"transaction failed: {exc!r}") from exc
            raise

    async def _drop(self, producer: Any, fenced: bool = False) -> None:
        if self._producer is producer:
            self._producer = None
        if fenced and self._slot is not None:
            # Another producer holds this id now. If it is a live process given the same id
            # (a host name shared across machines, a private /tmp), taking the id back would
            # fence it in turn, forever: carry on under an id of our own instead.
            log.warning(
                "%s was fenced by another producer; continuing under a new transactional id",
                self.transactional_id,
            )
            self._release_slot()
            self._instance = f"{socket.gethostname() or 'host'}-{uuid.uuid4().hex[:8]}"
        with contextlib.suppress(KafkaError):  # a fenced producer may fail to stop cleanly
            await producer.stop()

    def _release_slot(self) -> None:
        if self._slot is not None:
            self._slot.close()  # frees the slot for the next instance on this host
            self._slot = None

    async def stop(self) -> None:
        self.flush()
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        if self._producer is not None:
            await self._drop(self._producer)
        self._release_slot()


def claim_instance(name: str) -> tuple[str, IO[str] | None]:
    """This process's instance name for ``name`` (a processor and its input topic): the host
    name and the lowest slot number no other live process holds in this user's lock
    directory under the temporary directory (an ``flock`` on a file per slot). The lock dies
    with the process, so a restart after ``kill -9`` on the same host, or in the same pod,
    takes the same slot back, and with it the same ``transactional.id``. Processes that do
    not share that directory (another user, a private /tmp) may pick the same name: the
    sink then moves to a random one when fenced. Without a usable directory, or one this
    user does not own: the host and a random suffix from the start."""
    host = socket.gethostname() or "host"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    fallback = f"{host}-{uuid.uuid4().hex[:8]}", None
    try:
        where = Path(tempfile.gettempdir()) / f"shotline-txn-{os.getuid()}"
        where.mkdir(mode=0o700, exist_ok=True)
        found = where.lstat()
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
            log.warning("%s is not this user's directory: a random transactional id", where)
            return fallback
        for slot in range(1024):
            lock = (where / f"{safe}.{slot}.lock").open("a")
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held by a live process
                lock.close()
                continue
            except OSError:
                lock.close()
                raise
            return f"{host}-{slot}", lock
    except OSError as exc:
        log.warning("no slot for %s (%s): a random transactional id suffix", name, exc)
    return fallback


class OutputSink(Protocol):
    """Where the at-least-once engine's output goes (``AtLeastOnceSink``; tests pass an
    in-memory one). ``publish`` returns once every record is acknowledged."""

    async def start(self) -> None: ...
    async def publish(self, records: Sequence[Encoded]) -> None: ...
    async def stop(self) -> None: ...


class AtLeastOnceSink:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = AIOKafkaProducer(
            **kafka.producer_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1 << 20,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def publish(self, records: Sequence[Encoded]) -> None:
        try:
            await asyncio.wait_for(_send_all(self._producer, records), timeout=60)
        except (KafkaError, TimeoutError) as exc:
            raise SinkError(f"publish failed: {type(exc).__name__}: {exc}") from exc

    async def stop(self) -> None:
        await self._producer.stop()
