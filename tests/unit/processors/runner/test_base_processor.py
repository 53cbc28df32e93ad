"""``BaseProcessor`` gives the lifecycle for free; the optional hooks are found once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from processors.registry import BUILTINS
from processors.runner import BaseProcessor, Context, Processor, load_processor
from processors.runner.batch import process_batch, report_commit
from processors.runner.codec import Raw
from processors.runner.hooks import Hooks, find_hooks
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from schemas import KafkaSettings
from tests.unit.processors.runner.items import Item, ItemEcho


class SkippingEcho(ItemEcho):
    """Echo with a key filter (skips key ``k0``) and a commit hook that records its calls."""

    def __init__(self) -> None:
        self.skip_calls = 0
        self.commits: list[tuple[int, int, bool]] = []

    def skip_keys(self, partition: int, keys: Sequence[bytes | None]) -> list[bool]:
        self.skip_calls += 1
        return [key == b"k0" for key in keys]

    def after_commit(self, partition: int, raws: Sequence[Any], committed: bool) -> None:
        self.commits.append((partition, len(raws), committed))


def raws(n: int) -> list[Raw]:
    return [Raw("in", 1, i, f"k{i}".encode(), f'{{"n": {i}}}'.encode()) for i in range(n)]


async def test_a_subclass_with_only_handle_and_input_topic_is_a_processor() -> None:
    echo = ItemEcho()
    assert isinstance(echo, Processor)
    ctx = Context(kafka=KafkaSettings(), projects={}, registry=CollectorRegistry())
    await echo.start(ctx)
    await echo.on_assign({0, 1})
    await echo.on_revoke({0})
    await echo.stop()
    assert echo.exactly_once is False


def test_base_processor_cannot_be_instantiated_without_handle() -> None:
    class NoHandle(BaseProcessor[Item]):
        name = "nohandle"
        input_model = Item

        def input_topic(self, topics: Any) -> str:
            return "in"

    with pytest.raises(TypeError, match="handle"):
        NoHandle()  # type: ignore[abstract]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_processor_is_a_base_processor_with_a_settings_model(name: str) -> None:
    processor = load_processor(name, BUILTINS)
    assert isinstance(processor, BaseProcessor)
    assert processor.settings_model is not None
    processor.settings_model.model_validate({})  # every setting has a default


def test_the_example_plugin_is_a_base_processor() -> None:
    assert isinstance(
        load_processor("examples.plugin_example.flagger:processor", {}), BaseProcessor
    )


def test_hooks_are_found_only_where_implemented() -> None:
    assert find_hooks(ItemEcho()) == Hooks()
    proc = SkippingEcho()
    hooks = find_hooks(proc)
    assert hooks.skip_keys == proc.skip_keys
    assert hooks.after_commit == proc.after_commit
    assert hooks.handle_bytes is None


async def test_a_batch_uses_the_hooks_found_at_start_not_the_processor() -> None:
    proc = SkippingEcho()
    metrics = RunnerMetrics(CollectorRegistry())
    settings = RunnerSettings()
    with_hooks = await process_batch(proc, raws(3), "dlq", settings, metrics, find_hooks(proc))
    assert (proc.skip_calls, with_hooks.emitted, with_hooks.handled) == (1, 2, 3)
    # Hooks found empty at start: the processor's methods are not looked up per batch.
    without = await process_batch(proc, raws(3), "dlq", settings, metrics, Hooks())
    assert (proc.skip_calls, without.emitted) == (1, 3)
    report_commit(Hooks(), 1, raws(3), committed=True)
    report_commit(find_hooks(proc), 1, raws(2), committed=False)
    assert proc.commits == [(1, 2, False)]
