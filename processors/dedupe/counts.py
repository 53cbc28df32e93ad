"""Duplicates counted per project, once their batch committed.

A partition batch's duplicates are staged while it is handled (``skip_keys``'s flags, and
the offsets ``handle`` dropped) and counted only when the runner reports the commit
(``CommitHook.after_commit``): a batch aborted and redone is counted once. The runner
handles a partition's next batch while the previous one commits, and settles them in
order, so each partition holds a queue of staged batches. The ``project``
label is the ``shotline-project`` header when it names a configured project, else
``other``, so the label stays bounded whatever the headers say.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from processors.runner.codec import RawRecord
from schemas import HEADER_PROJECT

__all__ = ["OTHER_PROJECT", "StagedDuplicates"]

OTHER_PROJECT = "other"


@dataclass(slots=True)
class _Staged:
    skipped: Sequence[bool] = ()  # skip_keys's flags, aligned with the batch's records
    offsets: list[int] = field(default_factory=list)  # duplicates found by handle


class StagedDuplicates:
    """``counter``: a Counter labelled by ``project`` (None: count nothing)."""

    def __init__(self, projects: Iterable[str] = (), counter: Any = None) -> None:
        self._projects = frozenset(projects)
        self._counter = counter
        self._staged: dict[int, deque[_Staged]] = {}

    def begin(self, partition: int, skipped: Sequence[bool]) -> None:
        """A partition batch starts: ``skipped`` flags its records dropped on their key."""
        self._staged.setdefault(partition, deque()).append(_Staged(skipped))

    def add(self, partition: int, offset: int) -> None:
        """A duplicate found while handling the partition's latest batch."""
        queue = self._staged.setdefault(partition, deque())
        if not queue:
            queue.append(_Staged())
        queue[-1].offsets.append(offset)

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._staged.pop(partition, None)

    def clear(self) -> None:
        self._staged.clear()

    def settle(self, partition: int, raws: Sequence[RawRecord], committed: bool) -> None:
        """Count a committed batch's duplicates; forget an aborted one's. Batches settle in
        the order they began, so this is the partition's oldest staged batch."""
        queue = self._staged.get(partition)
        if not queue:
            return
        staged = queue.popleft()
        if not queue:
            del self._staged[partition]
        if not committed or self._counter is None:
            return
        dropped = list(compress(raws, staged.skipped))
        if staged.offsets:
            offsets = set(staged.offsets)
            dropped.extend(raw for raw in raws if raw.offset in offsets)
        counts: dict[str, int] = {}
        for raw in dropped:
            project = self.project(raw.headers)
            counts[project] = counts.get(project, 0) + 1
        for project, count in counts.items():
            self._counter.labels(project).inc(count)

    def project(self, headers: Sequence[tuple[str, bytes | None]]) -> str:
        for name, value in headers:
            if name == HEADER_PROJECT:
                project = (value or b"").decode("utf-8", "replace")
                return project if project in self._projects else OTHER_PROJECT
        return OTHER_PROJECT
