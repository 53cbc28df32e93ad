"""The engine's consumer-group rebalance listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka import ConsumerRebalanceListener, TopicPartition

if TYPE_CHECKING:
    from processors.runner.engine import Engine

__all__ = ["RebalanceListener"]


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Eager rebalancing revokes every partition and then assigns the new set: revoked ones
    are suspended (state kept), then those that did not come back are dropped and the new
    ones taken up. Both wait for the batch in progress (the engine's lock), and revoking
    also for the revoked partitions' commits in flight. aiokafka
    swallows listener errors, so they are parked on the engine for its loop to raise."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _mine(self, tps: set[TopicPartition]) -> set[int]:
        return {tp.partition for tp in tps if tp.topic == self.engine.topic}

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.engine._lock:
            try:
                await self.engine._revoke(self._mine(revoked), suspend=True)
            except Exception as exc:
                self.engine._failure = exc

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.engine._lock:
            try:
                mine = self._mine(assigned)
                await self.engine._settle_rebalance(mine)
                await self.engine._assign(mine - self.engine._owned)
            except Exception as exc:
                self.engine._failure = exc
