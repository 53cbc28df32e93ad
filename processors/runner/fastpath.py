"""The optional bytes-to-bytes fast path of a processor (``BytesHandler``).

The regular path builds, per record, a ``Record`` with a validated model, an ``Emit``
and an ``Encoded``, and runs each of decode, handle and encode over the batch in turn. A
processor whose per-record work is small (dedupe: about as much again as that plumbing)
may implement ``handle_bytes`` to go from consumed bytes to publishable bytes in one pass.

Contract, on top of ``Processor``'s: the result must equal what decode → ``handle`` →
encode would give for the same records (same output records in the same order, the same
records refused for the same causes), and ``handle_bytes`` must change no state unless it
returns a result. What must happen once per batch handled (metrics) goes in the result's
``done``, which the runner calls once the whole batch is answered. It returns ``None`` to
decline a batch it has no fast answer for; if it raises, the runner logs it. Either way the
runner takes the regular path for the batch instead, so retries, poison isolation and
``FatalError`` behave exactly as without it.

A processor whose ``handle`` decides each record on its own (nothing aggregated over a
call; moderate) may instead answer part of a batch and leave the rest (``BytesResult.rest``,
moderate: the records a provider must see) to the regular path, which then handles those
records alone, in one call. The two parts together must equal the regular path over the
whole batch up to the order of the output records: the fast part's come first. If the
regular part raises (``Backpressure``, ``FatalError``), ``done`` is not called and the batch
comes again: the fast part's state must let it answer that batch alike (moderate leaves the
records it decided to its cache, as ``handle`` does). ``rest`` must be increasing positions
in the batch, none of them a record in ``invalid`` or ``rejected``; else the runner logs it
and takes the regular path for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol, runtime_checkable

from processors.runner.codec import Encoded, RawRecord

__all__ = ["BytesHandler", "BytesResult"]


@dataclass(slots=True)
class BytesResult:
    """``output``: records to publish, in order. ``invalid``: records whose value did not
    validate (cause as ``codec.describe_invalid`` words it). ``rejected``: records the
    processor refused (a ``DeadLetter`` of the regular path, not retriable). ``rest``: the
    positions in the batch of the records left to the regular path (see the module's
    docstring), in order. ``done``: called once the whole batch is answered (after the
    regular part, if any), not if that part raised."""

    output: list[Encoded] = field(default_factory=list)
    invalid: list[tuple[RawRecord, str]] = field(default_factory=list)
    rejected: list[tuple[RawRecord, str]] = field(default_factory=list)
    rest: list[int] = field(default_factory=list)
    done: Callable[[], None] | None = None

    def rest_is_sound(self, raws: Sequence[RawRecord]) -> bool:
        """``rest`` names increasing positions in ``raws``, none of them a record
        dead-lettered here."""
        rest = self.rest
        if not rest:
            return True
        if rest[0] < 0 or rest[-1] >= len(raws) or any(a >= b for a, b in pairwise(rest)):
            return False
        dead = {raw.offset for raw, _ in (*self.invalid, *self.rejected)}
        return all(raws[i].offset not in dead for i in rest)


@runtime_checkable
class BytesHandler(Protocol):
    def handle_bytes(self, raws: Sequence[RawRecord], skip: Sequence[bool]) -> BytesResult | None:
        """Handle one partition's batch (offset order), or ``None`` to leave it to the
        regular path; ``skip[i]`` is ``skip_keys``'s verdict for ``raws[i]`` (all False
        without a ``KeyFilter``): such records need nothing."""
        ...
