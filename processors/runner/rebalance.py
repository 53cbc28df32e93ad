"""The consumer-group rebalance listener both engines use, and the protocol it drives.

aiokafka calls the listener from its group coordinator; the listener narrows the partitions
to the engine's input topic and hands them to the engine's ``Rebalancing`` methods, which do
the work (waiting for the batch in progress, suspending, restoring). aiokafka swallows
listener errors, so a failure is handed to ``park`` for the engine's loop to raise. The
listener knows nothing of the engine beyond this protocol.
"""

from __future__ import annotations

from typing import Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition

__all__ = ["RebalanceListener", "Rebalancing"]


class Rebalancing(Protocol):
    """What an engine does when its consumer's assignment changes (eager protocol: every
    partition is revoked, then the new set is assigned)."""

    async def partitions_revoked(self, partitions: set[int]) -> None: ...

    async def partitions_assigned(self, partitions: set[int]) -> None: ...

    def park(self, error: Exception) -> None:
        """Keep ``error`` for the engine's loop to raise (it stops the processor)."""
        ...


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, topic: str, engine: Rebalancing) -> None:
        self._topic = topic
        self._engine = engine

    def _mine(self, tps: set[TopicPartition]) -> set[int]:
        return {tp.partition for tp in tps if tp.topic == self._topic}

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        try:
            await self._engine.partitions_revoked(self._mine(revoked))
        except Exception as exc:
            self._engine.park(exc)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._engine.partitions_assigned(self._mine(assigned))
        except Exception as exc:
            self._engine.park(exc)
