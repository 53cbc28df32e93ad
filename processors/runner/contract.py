"""The processor contract: what a built-in or third-party processor provides to the runner.

A processor is a named unit with one input topic and an async handler over batches of
validated records. It returns what to publish (``Emit``) and what to dead-letter
(``DeadLetter``); the runner owns the plumbing — consuming in batches, explicit offset
commits, transactions when ``exactly_once``, retries with backoff for ``RetriableError``,
the DLQ, metrics, health and graceful shutdown. Consumer group: ``shotline-<name>`` behind
the topic prefix (``Context.group_id``).

Stateful processors restore their state in ``on_assign`` and drop it in ``on_revoke``; the
runner calls ``handle`` only for partitions whose restore finished. ``handle`` receives the
records of ONE input partition, in offset order, and may be called again with the same batch
when it raised (retries, ``Backpressure``) or when its output could not be committed
(exactly-once: the runner revokes and re-assigns the partition first; at-least-once: the
partition is rewound and the batch redelivered):
it must not change state it cannot rebuild in ``on_assign``. For ``exactly_once``
processors the runner calls ``on_assign`` only after it has fenced any older producer of
those partitions, so a restore reads only committed output.

Optional hook ``skip_keys(partition, keys) -> list[bool]`` (see ``KeyFilter``): a processor
that can tell from the Kafka keys alone that records need nothing (dedupe: a requestId
already emitted, or repeated earlier in the same batch) saves the runner decoding and
validating them; skipped records are committed like handled ones.

Optional hook ``after_commit(partition, raws, committed)`` (see ``CommitHook``): called once
per partition batch after its output and offsets were committed (``committed=True``) or
were not (``False``: the batch will be handled again). Counters of what a batch did belong
there, so a batch that is aborted and redone is counted once. ``True`` always means the
input offsets are committed in Kafka: in one transaction with the output (exactly-once), or
by the offset commit that follows the acknowledged output (at-least-once; a batch that is
then rewound for redelivery never gets ``True``). The exactly-once runner commits a batch
while it handles the next poll, so a partition's next batch may be handled before the
previous one's ``after_commit``, on state that includes the still uncommitted batch; each
batch gets exactly one call, in the order the batches were handled, possibly from another
task while the next batch is being handled. When a commit fails, the batch handled
meanwhile is void (``after_commit(..., False)`` too) and the partition is revoked and
restored before it is handled again.

Backpressure: ``handle`` may raise ``errors.Backpressure(retry_after_s, reason)`` when a
dependency asks for a pause (provider quota, open circuit breaker). The batch is not
committed and not counted as a failed attempt (no retries, nothing dead-lettered, no
``RetriableError`` metrics); it gets ``after_commit(..., False)``; its partition is paused
for ``retry_after_s`` while the other partitions keep flowing, then the same records are
handled again from the batch's first offset (at-least-once: the partition is rewound and
resumed; exactly-once: it is reset, re-fenced and restored like after a failed commit).
``reason`` must be short and bounded: it labels ``shotline_processor_paused_seconds_total``.
See docs/processors.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from schemas import KafkaSettings, ProjectConfig, Topics, headers_as_text

__all__ = [
    "Batch",
    "CommitHook",
    "Context",
    "DeadLetter",
    "Emit",
    "HandleResult",
    "Headers",
    "KeyFilter",
    "Processor",
    "Record",
    "RunnerReason",
]

M = TypeVar("M", bound=BaseModel)


Headers = Sequence[tuple[str, bytes | None]]
"""Kafka headers as consumed and published: names with byte values (``None``: null),
repeats allowed, in order."""


@dataclass(frozen=True, slots=True)
class Record(Generic[M]):
    """One consumed record, validated into the processor's input model. ``raw_headers``
    are its Kafka headers as consumed; ``headers`` the same decoded for reading."""

    value: M
    key: str | None
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    raw_headers: Headers = ()

    @property
    def headers(self) -> dict[str, str]:
        """The headers as text (``schemas.headers_as_text``). Decoded on each access, so
        records that nobody asks cost nothing."""
        return headers_as_text(self.raw_headers)


Batch = Sequence[Record[M]]


@dataclass(frozen=True, slots=True)
class Emit:
    """A record to publish. ``partition`` pins it (e.g. to the input partition).
    ``headers``: text headers to set, or a consumed record's ``raw_headers`` to pass on
    exactly as they came (binary values, repeats and nulls included)."""

    topic: str
    key: str | None
    value: BaseModel
    partition: int | None = None
    headers: Mapping[str, str] | Headers = field(default_factory=dict)


RunnerReason = Literal["invalid", "rejected", "retries_exhausted", "unexpected"]
"""The dead-letter reasons the runner gives itself: ``invalid`` (the value did not validate
as the input model), ``rejected`` (a ``DeadLetter`` without its own reason),
``retries_exhausted`` (``RetriableError`` every attempt), ``unexpected`` (any other error
while handling the record alone). A processor's own ``DeadLetter.reason`` replaces the last
three."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the processor cannot handle; it goes to the DLQ with the cause.

    ``unexpected``: set by the runner when handling the record alone raised an error that
    was neither ``RetriableError`` nor a refusal (DLQ reason ``unexpected``).
    ``reason``: the processor's own short, bounded reason (``missing_object``,
    ``access_denied``, ``budget_exhausted``...); it becomes the DLQ record's ``reason`` and the
    ``reason`` label of ``shotline_processor_dead_lettered_total``. When None the runner
    derives one (``rejected``, ``retries_exhausted``, ``unexpected``)."""

    record: Record[Any]
    error: str
    retriable: bool = False
    attempts: int = 1
    unexpected: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class HandleResult:
    emits: Sequence[Emit] = ()
    dead: Sequence[DeadLetter] = ()


@dataclass(frozen=True)
class Context:
    """What the runner hands a processor at start: configuration and its metrics registry."""

    kafka: KafkaSettings
    projects: Mapping[str, ProjectConfig]
    registry: CollectorRegistry
    settings: Mapping[str, Any] = field(default_factory=dict)  # the processor's own section

    @property
    def topics(self) -> Topics:
        return self.kafka.topics

    def group_id(self, processor: str) -> str:
        """The processor's consumer group (``Topics.group``: ``<prefix>shotline-<name>``)."""
        return self.topics.group(processor)


@runtime_checkable
class Processor(Protocol[M]):
    """Implement this (a module-level instance) to plug a processor into the runner."""

    name: str
    input_model: type[M]
    exactly_once: bool

    def input_topic(self, topics: Topics) -> str: ...

    async def start(self, ctx: Context) -> None: ...

    async def stop(self) -> None: ...

    async def on_assign(self, partitions: set[int]) -> None: ...

    async def on_revoke(self, partitions: set[int]) -> None: ...

    async def handle(self, batch: Batch[M]) -> HandleResult: ...


@runtime_checkable
class KeyFilter(Protocol):
    """The optional fast path, called once per partition batch before decoding: one flag
    per key (offset order), True meaning "this record needs no handling"."""

    def skip_keys(self, partition: int, keys: Sequence[bytes | None]) -> Sequence[bool]: ...


@runtime_checkable
class CommitHook(Protocol):
    """The optional post-commit hook: ``raws`` are the partition batch's consumed records
    (``codec.RawRecord``, offset order, as ``skip_keys``/``handle_bytes`` saw them)."""

    def after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None: ...
