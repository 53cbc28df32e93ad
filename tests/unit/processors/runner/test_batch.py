"""One partition batch through the runner's pure path: validation, retries, poison isolation."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from processors.errors import Backpressure, FatalError, RetriableError
from processors.runner.batch import BatchOutcome, process_batch
from processors.runner.codec import Encoded, Raw, RawRecord
from processors.runner.contract import Batch, Emit, HandleResult
from processors.runner.fastpath import BytesResult
from processors.runner.hooks import find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import DeadLetterRecord
from tests.unit.processors.runner.items import Item, ItemEcho

FAST = RunnerSettings(retry_attempts=3, retry_initial_s=0.001, retry_max_s=0.002)


class Doubler(ItemEcho):
    """Emits 2n for each item; ``poison`` values raise ``error`` whenever they are handled."""

    name = "doubler"

    def __init__(self, poison: set[int], error: type[Exception] = RetriableError) -> None:
        self.poison = poison
        self.error = error
        self.calls = 0

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        self.calls += 1
        if any(r.value.n in self.poison for r in batch):
            raise self.error("downstream said no")
        return HandleResult(
            emits=[Emit(topic="out", key=r.key, value=Item(n=2 * r.value.n)) for r in batch]
        )


def raws(*values: bytes) -> list[Raw]:
    return [Raw("in", 2, 10 + i, f"k{i}".encode(), v) for i, v in enumerate(values)]


async def run(proc: Doubler, records: list[Raw]) -> tuple[BatchOutcome, RunnerMetrics]:
    metrics = RunnerMetrics(CollectorRegistry())
    return await process_batch(proc, records, "dlq", FAST, metrics, find_hooks(proc)), metrics


async def test_invalid_value_is_dead_lettered_with_its_source_and_never_handled() -> None:
    proc = Doubler(poison=set())
    outcome, metrics = await run(proc, raws(b'{"n": 1}', b'{"n": "x"}', b"\xff\xfe"))
    assert [o.value for o in outcome.output[:1]] == [b'{"n":2}']
    letters = [DeadLetterRecord.model_validate_json(o.value) for o in outcome.output[1:]]
    assert [(d.source_offset, d.error_type, d.attempts) for d in letters] == [
        (11, "ValidationError", 1),
        (12, "ValidationError", 1),
    ]
    assert letters[0].error.startswith("invalid Item: n:")
    assert letters[1].value_bytes() == b"\xff\xfe"  # not UTF-8: kept as base64
    assert letters[1].value_base64 is not None
    assert outcome.dead_by_reason == {"invalid": 2}
    assert all(o.topic == "dlq" and o.key is not None for o in outcome.output[1:])
    assert metrics.failed.labels("doubler", "retriable")._value.get() == 0


async def test_retriable_poison_is_isolated_and_the_rest_of_the_batch_is_emitted() -> None:
    proc = Doubler(poison={2})
    outcome, metrics = await run(proc, raws(b'{"n": 1}', b'{"n": 2}', b'{"n": 3}'))
    emitted = [o.value for o in outcome.output if o.topic == "out"]
    assert emitted == [b'{"n":2}', b'{"n":6}']
    (letter,) = [DeadLetterRecord.model_validate_json(o.value) for o in outcome.output[2:]]
    assert (letter.source_offset, letter.attempts, letter.retriable) == (11, 4, True)
    assert letter.error == "RetriableError: downstream said no"
    assert proc.calls == 3 + 3  # three batch attempts, then each record alone
    assert metrics.failed.labels("doubler", "retriable")._value.get() == 4


async def test_unexpected_error_skips_the_backoff_and_dead_letters_as_unexpected() -> None:
    proc = Doubler(poison={1}, error=KeyError)
    outcome, _ = await run(proc, raws(b'{"n": 1}', b'{"n": 5}'))
    assert proc.calls == 1 + 2
    assert [o.value for o in outcome.output if o.topic == "out"] == [b'{"n":10}']
    assert outcome.dead_by_reason == {"unexpected": 1}
    letter = DeadLetterRecord.model_validate_json(outcome.output[-1].value)
    assert (letter.retriable, letter.error_type, letter.attempts) == (False, "Unexpected", 2)


async def test_fatal_error_stops_processing() -> None:
    proc = Doubler(poison={1}, error=FatalError)
    with pytest.raises(FatalError):
        await run(proc, raws(b'{"n": 1}'))


async def test_a_long_batch_keeps_offset_order_and_dead_letters_last() -> None:
    size = 128

    proc = Doubler(poison={size + 1}, error=ValueError)
    values = [b'{"n": %d}' % n for n in range(2 * size + 5)]
    values[3] = b"not json"
    outcome, _ = await run(proc, raws(*values))
    expected = [b'{"n":%d}' % (2 * n) for n in range(2 * size + 5) if n not in (3, size + 1)]
    assert [o.value for o in outcome.output[: outcome.emitted]] == expected
    letters = [DeadLetterRecord.model_validate_json(o.value) for o in outcome.output[-2:]]
    assert [d.source_offset for d in letters] == [10 + 3, 10 + size + 1]
    assert outcome.handled == 2 * size + 5 - 2
    assert outcome.dead_by_reason == {"invalid": 1, "unexpected": 1}


async def test_a_partition_batch_reaches_handle_in_one_call() -> None:
    proc = Doubler(poison=set())  # processors may aggregate per call (billing's tally)
    outcome, _ = await run(proc, raws(*[b'{"n": %d}' % n for n in range(1000)]))
    assert proc.calls == 1
    assert outcome.emitted == 1000


class Quota(Backpressure):
    def __init__(self, message: str) -> None:
        super().__init__(2.0, "quota")


class Throttled(Doubler):
    """Backpressure when ``n`` is in ``poison`` and handled alone; other batches with
    poison raise RetriableError (so the isolation pass runs)."""

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        if len(batch) == 1 and batch[0].value.n in self.poison:
            self.calls += 1
            raise Backpressure(3.0, "quota")
        return await super().handle(batch)


async def test_backpressure_is_no_attempt_and_dead_letters_nothing() -> None:
    proc = Doubler(poison={1}, error=Quota)
    metrics = RunnerMetrics(CollectorRegistry())
    with pytest.raises(Backpressure):
        await process_batch(
            proc, raws(b'{"n": 1}', b'{"n": 2}'), "dlq", FAST, metrics, find_hooks(proc)
        )
    assert proc.calls == 1, "not retried"
    assert metrics.failed.labels("doubler", "retriable")._value.get() == 0
    assert metrics.failed.labels("doubler", "unexpected")._value.get() == 0


async def test_backpressure_while_isolating_records_stops_the_batch_too() -> None:
    proc = Throttled(poison={1})
    with pytest.raises(Backpressure):
        await run(proc, raws(b'{"n": 1}', b'{"n": 2}'))
    assert proc.calls == 3 + 1, "three batch attempts, then the first record alone"


class FastDoubler(Doubler):
    """A fast path that answers batches of even values only and declines the others."""

    name = "fast-doubler"

    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
        values = [Item.model_validate_json(raw.value or b"").n for raw in raws]
        if any(n % 2 for n in values):
            return None
        return BytesResult(
            output=[
                Encoded("out", None, raw.key, b'{"n":%d}' % (2 * n), [])
                for raw, n in zip(raws, values, strict=True)
            ]
        )


async def test_a_declined_fast_path_leaves_the_batch_to_the_regular_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proc = FastDoubler(poison=set())
    fast, _ = await run(proc, raws(b'{"n": 2}', b'{"n": 4}'))
    assert ([o.value for o in fast.output], proc.calls) == ([b'{"n":4}', b'{"n":8}'], 0)
    declined, _ = await run(proc, raws(b'{"n": 2}', b'{"n": 3}'))
    assert ([o.value for o in declined.output], proc.calls) == ([b'{"n":4}', b'{"n":6}'], 1)
    assert declined.emitted == 2
    assert "fast path failed" not in caplog.text  # declining is not a failure


class SplitDoubler(Doubler):
    """A fast path that answers the even values, rejects negative ones and leaves the odd
    ones (and anything that is not an item) to the regular path."""

    name = "split-doubler"

    def __init__(self, poison: set[int], error: type[Exception] = RetriableError) -> None:
        super().__init__(poison, error)
        self.seen: list[int] = []  # offsets the regular path's ``handle`` got
        self.done = 0  # batches answered (``BytesResult.done`` calls)
        self.rest: list[int] | None = None  # a rest to report instead of the right one

    def finished(self) -> None:
        self.done += 1

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        self.seen += [r.offset for r in batch]
        return await super().handle(batch)

    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
        result = BytesResult()
        for index, raw in enumerate(raws):
            value = raw.value or b""
            try:
                n = (
                    int(value)
                    if value.lstrip(b"-").isdigit()
                    else Item.model_validate_json(value).n
                )
            except ValueError:  # not an item: the regular path's to judge
                n = 1
            if n < 0:
                result.rejected.append((raw, "negative"))
            elif n % 2:
                result.rest.append(index)
            else:
                result.output.append(Encoded("out", None, raw.key, b'{"n":%d}' % (2 * n), []))
        result.rest = result.rest if self.rest is None else self.rest
        result.done = self.finished
        return result


async def test_a_fast_path_may_leave_part_of_a_batch_to_the_regular_path() -> None:
    """The regular path handles only the records left to it, in one call; the output is
    the fast part's records, then the regular part's, then every dead letter; the counts
    add up."""
    proc = SplitDoubler(poison={7})
    outcome, _ = await run(proc, raws(b"2", b'{"n": 3}', b"-1", b"4", b'{"n": "x"}', b'{"n": 5}'))
    assert (proc.seen, proc.calls) == ([11, 15], 1)  # 3 and 5 in one call; "x" never handled
    assert proc.done == 1
    assert [o.value for o in outcome.output[: outcome.emitted]] == [
        b'{"n":4}',
        b'{"n":8}',
        b'{"n":6}',
        b'{"n":10}',
    ]
    letters = [DeadLetterRecord.model_validate_json(o.value) for o in outcome.output[4:]]
    assert [(d.source_offset, d.error_type) for d in letters] == [
        (12, "Rejected"),
        (14, "ValidationError"),
    ]
    assert (outcome.handled, outcome.emitted) == (4, 4)
    assert outcome.dead_by_reason == {"rejected": 1, "invalid": 1}
    # the part left to the regular path keeps its retries and poison isolation
    poisoned, _ = await run(SplitDoubler(poison={7}), raws(b"2", b'{"n": 7}', b'{"n": 9}'))
    assert [o.value for o in poisoned.output[: poisoned.emitted]] == [b'{"n":4}', b'{"n":18}']
    assert poisoned.dead_by_reason == {"retries_exhausted": 1}


async def test_a_split_batch_whose_regular_part_raises_is_not_done() -> None:
    proc = SplitDoubler(poison={3}, error=Quota)
    with pytest.raises(Backpressure):
        await run(proc, raws(b"2", b'{"n": 3}'))
    assert proc.done == 0
    await run(proc, raws(b"2", b"4"))  # answered whole by the fast path: done once
    assert proc.done == 1


@pytest.mark.parametrize("rest", [[5], [-1], [1, 1], [3, 1], [2]])
async def test_an_unsound_rest_takes_the_regular_path_for_the_whole_batch(
    rest: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """Out of range, repeated, unordered, or a record the fast path dead-lettered (-1 at
    position 2): the regular path handles every record, the fast part counts nothing."""
    proc = SplitDoubler(poison=set())
    proc.rest = rest
    outcome, _ = await run(proc, raws(b'{"n": 2}', b'{"n": 3}', b'{"n": -1}'))
    assert (proc.seen, proc.done) == ([10, 11, 12], 0)
    assert [o.value for o in outcome.output] == [b'{"n":4}', b'{"n":6}', b'{"n":-2}']
    assert "unsound rest" in caplog.text
