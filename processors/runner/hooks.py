"""The optional hooks of a processor, found once when its engine starts.

``skip_keys`` (``contract.KeyFilter``), ``handle_bytes`` (``fastpath.BytesHandler``) and
``after_commit`` (``contract.CommitHook``) are methods a processor may have. The engines look
for them once, at construction, and call what they found on every batch; no per-batch
``isinstance`` against the runtime-checkable Protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from processors.runner.codec import RawRecord
from processors.runner.contract import CommitHook, KeyFilter
from processors.runner.fastpath import BytesHandler, BytesResult

__all__ = ["Hooks", "find_hooks"]

SkipKeys = Callable[[int, Sequence[bytes | None]], Sequence[bool]]
HandleBytes = Callable[[Sequence[RawRecord], Sequence[bool]], BytesResult | None]
AfterCommit = Callable[[int, Sequence[Any], bool], None]


@dataclass(frozen=True, slots=True)
class Hooks:
    """The bound hook methods of one processor; ``None`` where it has none."""

    skip_keys: SkipKeys | None = None
    handle_bytes: HandleBytes | None = None
    after_commit: AfterCommit | None = None


def find_hooks(processor: object) -> Hooks:
    """The optional hooks ``processor`` implements."""
    return Hooks(
        skip_keys=processor.skip_keys if isinstance(processor, KeyFilter) else None,
        handle_bytes=processor.handle_bytes if isinstance(processor, BytesHandler) else None,
        after_commit=processor.after_commit if isinstance(processor, CommitHook) else None,
    )
