"""A minimal processor over ``Item`` values for the runner's unit tests: ``BaseProcessor``'s
no-op lifecycle, ``handle`` echoes each item to ``out`` (pinned to its input partition)."""

from __future__ import annotations

from pydantic import BaseModel

from processors.runner.base import BaseProcessor
from processors.runner.contract import Batch, Emit, HandleResult
from schemas import Topics


class Item(BaseModel):
    n: int


class ItemEcho(BaseProcessor[Item]):
    name = "echo"
    input_model = Item
    exactly_once = False

    def input_topic(self, topics: Topics) -> str:
        return topics.screenshots

    async def handle(self, batch: Batch[Item]) -> HandleResult:
        return HandleResult(emits=[Emit("out", r.key, r.value, r.partition) for r in batch])
