"""The unit the publisher and the spool move: one Kafka record, already serialised."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Headers", "OutRecord"]

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class OutRecord:
    """A record bound for ``topic``; bytes in, bytes out, so spooling is lossless."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers = ()
