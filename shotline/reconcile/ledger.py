"""The Kafka side of the reconciler: what reached ``shotline.screenshots.v1``, what enrich
dead-lettered as ``missing_object``, and publishing the recovered callbacks.

Seen: dedupe keys ``shotline.screenshots.v1`` by the screenshot's identity, which for an
Agora object is its name, so a listed object was seen iff its name is a key there. The scan
reads keys only (``read_committed``) from ``offsets_for_times(since - SLACK)`` to the end
offsets taken at its start: dedupe publishes a screenshot after its object was uploaded,
hence after the time in its name, so nothing it published for the range is older than
``since`` (``SLACK`` absorbs clock skew between the uploader and the broker). A record whose
key is not an object name (published before keys were identities) is decoded to read its
``callback.object``. Memory holds the candidates only, not the topic.

aiokafka's errors become ``LedgerError`` here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.errors import SinkError, TopicReadError
from processors.runner.codec import Encoded
from processors.runner.dlq import read_dead_letters
from processors.runner.readback import ranges_since, read_range, reader, topic_partitions
from processors.runner.sink import AtLeastOnceSink
from schemas import KafkaSettings, ObjectNameError
from schemas.objectname import object_name_fields
from shotline.errors import LedgerError

__all__ = [
    "SLACK",
    "Outgoing",
    "find_seen",
    "missing_objects",
    "new_traceparent",
    "publish",
]

SLACK = timedelta(minutes=10)
_JPG = b".jpg"

Progress = Callable[[int, int], None]  # (records read so far, records to read)


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def _consumer(kafka: KafkaSettings) -> AIOKafkaConsumer:
    return reader(kafka, fetch_bytes=8 << 20, fetch_max_bytes=64 << 20)


def _object_of(value: bytes | None) -> bytes | None:
    try:
        name = orjson.loads(value or b"")["callback"]["object"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return name.encode() if isinstance(name, str) else None


async def find_seen(
    kafka: KafkaSettings,
    wanted: Collection[bytes],
    since: datetime,
    progress: Progress | None = None,
) -> tuple[set[bytes], int]:
    """Which of ``wanted`` (object names) are keys of ``shotline.screenshots.v1`` published
    since ``since - SLACK``; and how many records were read."""
    topic = kafka.topics.screenshots
    consumer = _consumer(kafka)
    seen: set[bytes] = set()
    read = 0
    try:
        await consumer.start()
        tps = [TopicPartition(topic, p) for p in (await topic_partitions(kafka, topic))[topic]]
        if not tps or not wanted:
            return seen, 0
        consumer.assign(tps)
        ranges = await ranges_since(consumer, tps, int((since - SLACK).timestamp() * 1000))
        total = sum(end - start for start, end in ranges.values())
        async for _, msg in read_range(consumer, ranges, max_records=20_000):
            read += 1
            key = msg.key
            if key is not None and not key.endswith(_JPG):
                key = _object_of(msg.value)  # keyed by requestId: look at the object
            if key is not None and key in wanted:
                seen.add(key)
            if progress is not None and read % 5_000 == 0:
                progress(read, total)
        if progress is not None:
            progress(read, total)
    except KafkaError as exc:
        raise LedgerError(f"cannot read {topic}: {exc}") from exc
    finally:
        await consumer.stop()
    return seen, read


def _object_time(value_text: str | None) -> tuple[str | None, str | None, datetime | None]:
    """(project, object name, screenshot time) of a dead-lettered screenshot record."""
    try:
        record = orjson.loads(value_text or "")
        project, name = record.get("project"), record["callback"]["object"]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None, None, None
    try:
        utc: datetime = object_name_fields(name)["utc"]
    except (ObjectNameError, TypeError, AttributeError):
        return project, name, None
    return project, name, utc


async def missing_objects(
    kafka: KafkaSettings, projects: Collection[str], since: datetime, until: datetime
) -> dict[str, list[str]]:
    """Per project, the object names enrich dead-lettered with reason ``missing_object``
    whose screenshot time is in ``[since, until)``, each once, sorted."""
    try:
        letters = await read_dead_letters(kafka)
    except TopicReadError as exc:
        raise LedgerError(str(exc)) from exc
    found: dict[str, set[str]] = {project: set() for project in projects}
    for stored in letters:
        letter = stored.record
        if letter.processor != "enrich" or letter.reason != "missing_object":
            continue
        owner, name, utc = _object_time(letter.value_text)
        names = found.get(owner or "")
        if names is not None and name is not None and utc is not None and since <= utc < until:
            names.add(name)
    return {project: sorted(names) for project, names in found.items()}


def new_traceparent() -> bytes:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01".encode()


async def publish(
    kafka: KafkaSettings, records: Sequence[Outgoing], progress: Progress | None = None
) -> int:
    """Publish ``records`` to ``shotline.callbacks.v1`` through the runner's
    ``AtLeastOnceSink`` (idempotent, ``acks=all``, 60 s per chunk of 1,000); the number
    acknowledged. Any failure raises ``LedgerError`` (a rerun publishes the same records,
    which dedupe absorbs)."""
    if not records:
        return 0
    topic = kafka.topics.callbacks
    sink = AtLeastOnceSink(kafka)
    done = 0
    try:
        await sink.start()
        for start in range(0, len(records), 1_000):
            chunk = records[start : start + 1_000]
            await sink.publish(
                [Encoded(topic, None, r.key, r.value, list(r.headers)) for r in chunk]
            )
            done += len(chunk)
            if progress is not None:
                progress(done, len(records))
    except (KafkaError, SinkError) as exc:
        raise LedgerError(f"cannot publish to {topic}: {exc} ({done} published)") from exc
    finally:
        await sink.stop()
    return done
