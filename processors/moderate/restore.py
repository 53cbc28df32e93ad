"""Which screenshots already have a verdict: read back from ``shotline.moderation.v1``.

The stage publishes each verdict to the partition number its input record came from, so
the verdicts of input partition p are in output partition p — the layout dedupe's output
has, so its reader (``processors.dedupe.store.OutputLog``) serves here too. On assignment
the keys of those partitions newer than ``restore_window_s`` are read; a record whose
verdict is already there (published, but the input offset was not committed before a crash
or a rebalance) then gets no second verdict, no second provider call and no second webhook.

Input and output must have the same partition count (``FatalError`` otherwise). A failed
read is logged and the stage goes on without it: duplicates stay idempotent on requestId,
and the webhook carries ``Idempotency-Key``.
"""

from __future__ import annotations

import logging
import time

from processors.dedupe.store import OutputLog
from processors.errors import FatalError, RetriableError
from schemas import KafkaSettings

__all__ = ["VerdictLog"]

log = logging.getLogger(__name__)


class VerdictLog:
    def __init__(self, kafka: KafkaSettings, input_topic: str, output_topic: str) -> None:
        self._input = input_topic
        self._output = OutputLog(kafka, output_topic)
        self._checked = False

    async def published(self, partitions: set[int], window_s: float) -> dict[str, int]:
        """requestId → partition of every verdict in ``partitions`` newer than
        ``window_s``; empty when the topic cannot be read."""
        if not partitions or window_s <= 0:
            return {}
        found: dict[str, int] = {}

        def remember(partition: int, key: bytes, at_ms: int) -> None:
            found[key.decode("utf-8", "replace")] = partition

        try:
            if not self._checked:
                try:
                    await self._output.check_partitions(self._input)
                except FatalError as exc:  # its message speaks of dedupe
                    msg = f"moderate: verdicts go to the input's partition number: {exc}"
                    raise FatalError(msg) from exc
                self._checked = True
            since_ms = int((time.time() - window_s) * 1000)
            await self._output.replay(partitions, since_ms, remember)
        except RetriableError as exc:
            log.warning("moderate: verdicts not read back (%s); going on without", exc)
        return found
