"""A minimal processor over ``Item`` values for the runner's unit tests: no-op lifecycle,
``handle`` echoes each item to ``out`` (pinned to its input partition)."""

from __future__ import annotations

from pydantic import BaseModel

from processors.runner.contract import Batch, Context, Emit, HandleResult
from schemas import Topics


class Item(BaseModel):
    n: int


class ItemEcho:
    name = "echo"
    input_model = Item
    exactly_once = False

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def start(self, ctx: Context) -> None: ...
    async def stop(self) -> None: ...
    async def on_assign(self, partitions: set[int]) -> None: ...
    async def on_revoke(self, partitions: set[int]) -> None: ...

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        return HandleResult(emits=[Emit("out", r.key, r.value, r.partition) for r in batch])
