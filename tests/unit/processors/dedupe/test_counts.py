"""Dedupe's counters: duplicates counted per project only once their batch committed, and
ids evicted by the cap counted as a monotonic counter."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from processors.dedupe.counts import StagedDuplicates
from processors.dedupe.handler import DedupeProcessor
from processors.dedupe.seen import SeenSet
from processors.runner.batch import process_batch
from processors.runner.codec import Raw
from processors.runner.contract import CommitHook
from processors.runner.hooks import find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from tests.callbacks_factory import envelope_bytes


async def started(max_ids: int = 1000) -> tuple[DedupeProcessor, CollectorRegistry]:
    proc = DedupeProcessor()
    registry = CollectorRegistry()
    proc._seen = SeenSet(window_ms=86_400_000, buckets=24, max_ids=max_ids)
    proc._output = "out"
    # what start() sets up, without its Kafka checks
    proc._metrics = DedupeProcessor._new_metrics(registry)
    proc._duplicates = StagedDuplicates({"demo"}, proc._metrics["duplicates"])
    return proc, registry


def batch(ids: list[int], project: bytes = b"demo", first_offset: int = 0) -> list[Raw]:
    headers = [("shotline-project", project)]
    return [
        Raw("in", 0, first_offset + n, f"req-{i}".encode(), envelope_bytes(i), 0, headers)
        for n, i in enumerate(ids)
    ]


def duplicates(registry: CollectorRegistry, project: str) -> float:
    value = registry.get_sample_value("shotline_dedupe_duplicates_total", {"project": project})
    return value or 0.0


async def test_an_aborted_and_redone_batch_counts_its_duplicates_once() -> None:
    proc, registry = await started()
    assert isinstance(proc, CommitHook)
    metrics = RunnerMetrics(CollectorRegistry())
    raws = batch([1, 1, 2, 2, 2])
    await process_batch(proc, raws, "dlq", RunnerSettings(), metrics, find_hooks(proc))
    assert duplicates(registry, "demo") == 0, "nothing is counted before the commit"
    proc.after_commit(0, raws, committed=False)
    await proc.on_revoke({0})  # the runner's reset: state rebuilt from the output topic
    await process_batch(proc, raws, "dlq", RunnerSettings(), metrics, find_hooks(proc))
    proc.after_commit(0, raws, committed=True)
    assert duplicates(registry, "demo") == 3


async def test_duplicates_are_labelled_by_configured_project_and_others_as_other() -> None:
    proc, registry = await started()
    metrics = RunnerMetrics(CollectorRegistry())
    first = batch([1, 2])
    await process_batch(proc, first, "dlq", RunnerSettings(), metrics, find_hooks(proc))
    proc.after_commit(0, first, committed=True)
    again = batch([1], b"demo", 2) + batch([2], b"\xffunknown-project", 3)
    await process_batch(proc, again, "dlq", RunnerSettings(), metrics, find_hooks(proc))
    proc.after_commit(0, again, committed=True)
    assert (duplicates(registry, "demo"), duplicates(registry, "other")) == (1, 1)


async def test_duplicates_found_by_handle_are_counted_at_commit_too() -> None:
    proc, registry = await started()
    from processors.runner.codec import decode
    from schemas import CallbackEnvelope

    raws = batch([4, 4])
    records = [decode(CallbackEnvelope, raw) for raw in raws]
    result = await proc.handle(records)  # type: ignore[arg-type]
    assert len(result.emits) == 1
    assert duplicates(registry, "demo") == 0
    proc.after_commit(0, raws, committed=True)
    assert duplicates(registry, "demo") == 1


async def test_evicted_ids_are_a_counter_that_adds_each_eviction_once() -> None:
    proc, registry = await started(max_ids=2)
    metrics = RunnerMetrics(CollectorRegistry())
    for i in range(4):
        await process_batch(
            proc, batch([i], first_offset=i), "dlq", RunnerSettings(), metrics, find_hooks(proc)
        )
    evicted = registry.get_sample_value("shotline_dedupe_evicted_ids_total")
    assert evicted == proc._seen.evicted
    assert evicted is not None
    assert evicted >= 2


async def test_the_next_batch_handled_while_one_commits_keeps_its_own_count() -> None:
    """The runner handles a partition's next batch before the previous one's commit is
    settled; each batch's duplicates are counted with its own settle."""
    proc, registry = await started()
    metrics = RunnerMetrics(CollectorRegistry())
    first = batch([1, 1, 1])  # 2 duplicates
    second = batch([1, 2, 2], first_offset=3)  # 1 known id, 1 repeat
    await process_batch(proc, first, "dlq", RunnerSettings(), metrics, find_hooks(proc))
    await process_batch(proc, second, "dlq", RunnerSettings(), metrics, find_hooks(proc))
    proc.after_commit(0, first, committed=True)
    assert duplicates(registry, "demo") == 2
    proc.after_commit(0, second, committed=True)
    assert duplicates(registry, "demo") == 4
