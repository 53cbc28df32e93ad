"""Zombie fencing by consumer-group generation (KIP-447), which aiokafka 0.14 lacks.

The exactly-once engine commits one transaction per poll for all of its partitions, with
one transactional producer per engine (``sink.TransactionalSink``). A producer that is not
per partition cannot fence a partition's previous owner by its ``transactional.id``; Kafka
fences it by the group instead (KIP-447, brokers 2.5+), and that takes two requests aiokafka
does not send:

* ``TxnOffsetCommit`` v3 carries the committing consumer's generation and member id. The
  group coordinator refuses the offsets of a member a rebalance has left behind
  (``ILLEGAL_GENERATION``, ``UNKNOWN_MEMBER_ID``), so a zombie's transaction can only abort.
  ``fence_by_generation`` makes a transactional ``AIOKafkaProducer`` send it with the member
  its caller names when the request goes out, and aborts instead when there is none: the
  consumer is outside the group (aiokafka resets the generation to -1 then, which the broker
  would take as "do not check"), or the sink's batches were handled by an earlier member.
* ``OffsetFetch`` v7 with ``require_stable``: a new owner's committed-offset fetch waits
  (``UNSTABLE_OFFSET_COMMIT``) while a transaction holding offsets for the partition is still
  open, so it never starts from an offset that transaction is about to move.
  ``EngineKafkaConsumer.committed`` asks that way.

Both touch aiokafka's internals (the sender's offset-commit step, the coordinator's
generation); ``aiokafka`` is pinned, and
tests/integration/processors/runner/test_transactions.py checks both against the real broker.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka import errors as Errors
from aiokafka.client import CoordinationType
from aiokafka.producer.sender import TxnOffsetCommitHandler
from aiokafka.producer.transaction_manager import TransactionState
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

__all__ = ["EngineKafkaConsumer", "GroupMember", "fence_by_generation"]

log = logging.getLogger("shotline.processors")

# Kafka error codes the handlers act on (aiokafka has no class for 82 and 88).
NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
REQUEST_TIMED_OUT = 7
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
INVALID_PRODUCER_EPOCH = 47
FENCED_INSTANCE_ID = 82
UNSTABLE_OFFSET_COMMIT = 88
PRODUCER_FENCED = 90

_RETRY = frozenset({COORDINATOR_LOAD_IN_PROGRESS, UNKNOWN_TOPIC_OR_PARTITION})
_COORDINATOR_MOVED = frozenset({COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, REQUEST_TIMED_OUT})
_LEFT_BEHIND = frozenset(
    {ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS}
)


@dataclass(frozen=True, slots=True)
class GroupMember:
    """Who commits: the consumer's generation and member id in its group."""

    generation: int
    member_id: str

    @property
    def joined(self) -> bool:
        return self.generation >= 0 and bool(self.member_id)


# --- the wire: TxnOffsetCommit v3, OffsetFetch v7 (flexible versions) ---------------------

_TEXT = CompactString("utf-8")  # compact, nullable (None encodes as length 0)
_TAGS = ("tags", TaggedFields)


def _per_topic(*partition_fields: tuple[str, Any]) -> tuple[str, CompactArray]:
    """A flexible version's ``topics`` array: each topic's name and its ``partitions``, each
    of them ``partition_fields``; every level ends with its tagged fields."""
    partitions = ("partitions", CompactArray(*partition_fields, _TAGS))
    return ("topics", CompactArray(("name", _TEXT), partitions, _TAGS))


def _by_topic(
    rows: Iterable[tuple[TopicPartition, Any]],
) -> list[tuple[str, list[Any], dict[int, bytes]]]:
    """``(partition, row)`` pairs as a ``topics`` array's values: per topic, in partition
    order, each topic with no tagged fields."""
    topics: dict[str, list[Any]] = collections.defaultdict(list)
    for tp, row in sorted(rows, key=lambda pair: pair[0]):
        topics[tp.topic].append(row)
    return [(topic, parts, {}) for topic, parts in sorted(topics.items())]


class TxnOffsetCommitResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 28
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        _per_topic(("partition_index", Int32), ("error_code", Int16)),
        _TAGS,
    )


class TxnOffsetCommitRequest_v3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 28
    API_VERSION = 3
    RESPONSE_TYPE = TxnOffsetCommitResponse_v3
    SCHEMA = Schema(
        ("transactional_id", _TEXT),
        ("group_id", _TEXT),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("generation_id", Int32),
        ("member_id", _TEXT),
        ("group_instance_id", _TEXT),
        _per_topic(
            ("partition_index", Int32),
            ("committed_offset", Int64),
            ("committed_leader_epoch", Int32),
            ("committed_metadata", _TEXT),
        ),
        _TAGS,
    )


class TxnOffsetCommitV3(Request[TxnOffsetCommitRequest_v3]):  # type: ignore[misc]
    API_KEY = 28

    def __init__(self, fields: tuple[Any, ...]) -> None:
        self._fields = fields

    def build(self, request_struct_class: type[TxnOffsetCommitRequest_v3]) -> Any:
        return request_struct_class(*self._fields)


class OffsetFetchResponse_v7(Response):  # type: ignore[misc]
    API_KEY = 9
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        _per_topic(
            ("partition_index", Int32),
            ("committed_offset", Int64),
            ("committed_leader_epoch", Int32),
            ("metadata", _TEXT),
            ("error_code", Int16),
        ),
        ("error_code", Int16),
        _TAGS,
    )


class OffsetFetchRequest_v7(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 9
    API_VERSION = 7
    RESPONSE_TYPE = OffsetFetchResponse_v7
    SCHEMA = Schema(
        ("group_id", _TEXT),
        (
            "topics",
            CompactArray(("name", _TEXT), ("partition_indexes", CompactArray(Int32)), _TAGS),
        ),
        ("require_stable", Boolean),
        _TAGS,
    )


class StableOffsetFetch(Request[OffsetFetchRequest_v7]):  # type: ignore[misc]
    API_KEY = 9

    def __init__(self, group_id: str, partitions: Iterable[TopicPartition]) -> None:
        topics = _by_topic((tp, tp.partition) for tp in partitions)
        self._fields: tuple[Any, ...] = (group_id, topics, True, {})

    def build(self, request_struct_class: type[OffsetFetchRequest_v7]) -> Any:
        return request_struct_class(*self._fields)


# --- the producer side ----------------------------------------------------------------------


class _GenerationOffsetsHandler(TxnOffsetCommitHandler):  # type: ignore[misc]
    """aiokafka's offset-commit step of a transaction, sending v3 with the group member."""

    def __init__(
        self, sender: Any, offsets: Any, group_id: str, member: Callable[[], GroupMember | None]
    ) -> None:
        super().__init__(sender, offsets, group_id)
        self._member = member

    async def do(self, node_id: int) -> bool:
        member = self._member()
        if member is None or not member.joined:
            # Never commit unfenced: abort the transaction instead.
            abortable(
                self._sender._txn_manager,
                Errors.IllegalGenerationError(
                    f"not a member of {self._group_id}, or no longer the member that handled "
                    "the batches (a rebalance): offsets not committed"
                ),
            )
            return True
        self._now = member
        return bool(await super().do(node_id))

    def create_request(self) -> TxnOffsetCommitV3:
        txn = self._sender._txn_manager
        topics = _by_topic(
            (tp, (tp.partition, offset.offset, -1, offset.metadata, {}))
            for tp, offset in self._offsets.items()
        )
        member: GroupMember = self._now
        return TxnOffsetCommitV3(
            (
                txn.transactional_id,
                self._group_id,
                txn.producer_id,
                txn.producer_epoch,
                member.generation,
                member.member_id,
                None,  # no static membership
                topics,
                {},
            )
        )

    def handle_response(self, resp: Any) -> float | None:
        txn = self._sender._txn_manager
        for topic, partitions, _tags in resp.topics:
            for partition, code, _ptags in partitions:
                tp = TopicPartition(topic, partition)
                if code == NONE:
                    txn.offset_committed(tp, self._offsets[tp].offset, self._group_id)
                elif code in _COORDINATOR_MOVED:
                    self._sender._coordinator_dead(CoordinationType.GROUP)
                    return float(self._default_backoff)
                elif code in _RETRY:
                    return float(self._default_backoff)
                elif code in (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED):
                    raise Errors.ProducerFenced()
                elif code == TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
                    raise Errors.TransactionalIdAuthorizationFailed(txn.transactional_id)
                else:  # left behind by a rebalance, or anything else: abort, never commit
                    error = Errors.for_code(code)
                    reason = "left behind by a rebalance" if code in _LEFT_BEHIND else "refused"
                    abortable(
                        txn, error(f"offsets of {tp} {reason} (error {code}, {error.__name__})")
                    )
                    return None
        return None


def abortable(txn: Any, exc: Exception) -> None:
    """Put aiokafka's transaction in its abortable-error state, failing the offset commit
    waiting on it with ``exc``. Not aiokafka's ``error_transaction``: that also forgets the
    partitions and the group the transaction holds, so the abort that follows sends no
    ``EndTxn`` and the open transaction holds back ``read_committed`` readers until the
    broker times it out."""
    txn._transition_to(TransactionState.ABORTABLE_ERROR)
    txn._pending_txn_partitions.clear()  # never added to the transaction: nothing to abort
    for _group, _offsets, waiting in txn._pending_txn_offsets:
        waiting.set_exception(exc)
    txn._pending_txn_offsets.clear()
    waiter = txn._transaction_waiter
    if not waiter.done():
        waiter.set_exception(exc)
        waiter.exception()  # raised by a later commit attempt, not logged as unretrieved


def fence_by_generation(
    producer: AIOKafkaProducer, member: Callable[[], GroupMember | None]
) -> None:
    """Make the transactional ``producer`` commit offsets with ``member()``'s generation and
    member id (``TxnOffsetCommit`` v3), read when each commit is sent, and abort instead
    when the consumer is not in its group. Call before the producer's first transaction."""
    sender = producer._sender

    async def txn_offset_commit(offsets: Any, group_id: str) -> None:
        if not offsets:
            return
        try:
            node_id = await sender._find_coordinator(CoordinationType.GROUP, group_id)
        except Errors.GroupAuthorizationFailedError as exc:
            abortable(sender._txn_manager, exc)
            return
        await _GenerationOffsetsHandler(sender, offsets, group_id, member).do(node_id)

    sender._do_txn_offset_commit = txn_offset_commit


# --- the consumer side ----------------------------------------------------------------------


class EngineKafkaConsumer(AIOKafkaConsumer):  # type: ignore[misc]
    """The exactly-once engine's consumer: ``committed`` waits for stable offsets, and
    ``group_member`` tells the sink who commits."""

    def __init__(self, *args: Any, stable_wait_s: float = 90.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stable_wait_s = stable_wait_s

    def group_member(self) -> GroupMember | None:
        coordinator = self._coordinator
        if coordinator is None:
            return None
        return GroupMember(coordinator.generation, coordinator.member_id)

    async def committed(self, partition: TopicPartition) -> int | None:
        """The partition's committed offset (None: none yet), once no open transaction
        holds offsets for it: up to ``stable_wait_s``, for a dead owner's transaction to
        time out. Raises ``KafkaError`` if it is still open then."""
        return (await self.stable_committed([partition]))[partition]

    async def stable_committed(
        self, partitions: Iterable[TopicPartition]
    ) -> dict[TopicPartition, int | None]:
        """Each partition's committed offset (None: none), as ``committed``."""
        wanted = set(partitions)
        coordinator = self._coordinator
        started = time.monotonic()
        told = started
        while True:
            if coordinator._closing.done():
                raise Errors.KafkaError("the consumer is closing: no committed offsets")
            unstable: set[TopicPartition] = set()
            await coordinator.ensure_coordinator_known()
            try:
                resp = await coordinator._send_req(StableOffsetFetch(self._group_id, wanted))
            except Errors.KafkaError as exc:
                if not exc.retriable:
                    raise
            else:
                found, unstable, retry = _read_offsets(resp, coordinator)
                if not retry and not unstable and wanted <= found.keys():
                    return {tp: found[tp] for tp in wanted}
            now = time.monotonic()
            if now - started > self._stable_wait_s:
                held = f"still held by an open transaction: {sorted(unstable)}" if unstable else ""
                raise Errors.KafkaError(
                    f"no stable committed offsets after {self._stable_wait_s:.0f} s {held}"
                )
            if unstable and now - told > 5:
                told = now
                log.info("waiting for an open transaction's offsets of %s", sorted(unstable))
            await asyncio.sleep(0.1)


def _read_offsets(
    resp: Any, coordinator: Any
) -> tuple[dict[TopicPartition, int | None], set[TopicPartition], bool]:
    """(offsets found, partitions still unstable, whether to retry the whole request)."""
    if resp.error_code in _COORDINATOR_MOVED:
        coordinator.coordinator_dead()
        return {}, set(), True
    if resp.error_code in _RETRY:
        return {}, set(), True
    if resp.error_code != NONE:
        raise Errors.for_code(resp.error_code)(f"offset fetch refused ({resp.error_code})")
    found: dict[TopicPartition, int | None] = {}
    unstable: set[TopicPartition] = set()
    retry = False
    for topic, partitions, _tags in resp.topics:
        for partition, offset, _epoch, _metadata, code, _ptags in partitions:
            tp = TopicPartition(topic, partition)
            if code == UNSTABLE_OFFSET_COMMIT:
                unstable.add(tp)
            elif code in _COORDINATOR_MOVED:
                coordinator.coordinator_dead()
                retry = True
            elif code == COORDINATOR_LOAD_IN_PROGRESS:
                retry = True
            elif code == UNKNOWN_TOPIC_OR_PARTITION:
                found[tp] = None  # as aiokafka's own fetch: no committed offset
            elif code != NONE:
                raise Errors.for_code(code)(f"offset fetch of {tp} refused ({code})")
            else:
                found[tp] = offset if offset >= 0 else None
    return found, unstable, retry
