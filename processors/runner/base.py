"""``BaseProcessor``: the ``Processor`` contract with no-op lifecycle defaults, to subclass.

A processor states its ``name``, ``input_model`` and ``exactly_once``, and writes
``input_topic`` and ``handle``; it overrides only the lifecycle methods it needs (``start``
to read its settings section, ``on_assign``/``on_revoke`` to restore and drop state,
``stop`` to release clients). The optional hooks (``skip_keys``, ``handle_bytes``,
``after_commit``) are plain methods a subclass may add: the runner looks for them once, when
it starts (``hooks.find_hooks``).

The ``Processor`` Protocol stays the contract: the runner type-checks any object against it,
so a third-party processor need not subclass this.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic

from pydantic import BaseModel

from processors.runner.contract import Batch, Context, HandleResult, M
from schemas import Topics

__all__ = ["BaseProcessor"]


class BaseProcessor(ABC, Generic[M]):
    """Subclass, set the three class attributes, implement ``input_topic`` and ``handle``."""

    name: str
    input_model: type[M]
    exactly_once: bool = False
    settings_model: ClassVar[type[BaseModel] | None] = None
    """The model of ``ctx.settings``: when set, the composition root reads the section (TOML
    table, then ``SHOTLINE_<NAME>_<FIELD>``) with pydantic-settings against it, so a bad value
    stops ``shotline process`` before anything starts."""

    @abstractmethod
    def input_topic(self, topics: Topics) -> str:
        """The topic to consume, behind the deployment's prefix (``topics`` carries it)."""

    async def start(self, ctx: Context) -> None:
        """Called once before any partition is assigned; ``ctx.settings`` is the section."""

    async def stop(self) -> None:
        """Called once after the last batch; release clients and tasks here."""

    async def on_assign(self, partitions: set[int]) -> None:
        """Restore the state of newly assigned partitions (before any of their batches)."""

    async def on_revoke(self, partitions: set[int]) -> None:
        """Drop the state of partitions this instance no longer owns."""

    @abstractmethod
    async def handle(self, batch: Batch[M]) -> HandleResult:
        """Handle one input partition's batch, in offset order (see ``Processor``)."""
