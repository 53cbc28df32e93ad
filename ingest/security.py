"""Cheap checks made before a body is parsed: source address, content type, W3C trace.

Origin is proven by the unguessable per-project key in the URL path (the checksum carries
no secret) plus, optionally, a source-IP allowlist. Behind a proxy, run uvicorn with
``--forwarded-allow-ips`` so the client address is the real sender's.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterable

__all__ = ["IpAllowlist", "child_traceparent", "is_json_content_type"]

_TRACEPARENT = re.compile(rb"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = b"0" * 32


class IpAllowlist:
    """Source addresses or networks allowed to post; empty allows everyone."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)

    def allows(self, host: str | None) -> bool:
        if not self._networks:
            return True
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)


def is_json_content_type(value: bytes | None) -> bool:
    """``application/json`` with any parameters (Agora sends ``;charset=utf-8``)."""
    if value is None:
        return False
    media_type = value.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json"


def child_traceparent(incoming: bytes | None) -> bytes:
    """The ``traceparent`` for the published record: the caller's trace continues with a new
    span id (W3C Trace Context), or a new sampled trace starts if there was none or it was
    malformed."""
    # Trace ids need uniqueness, not secrecy: random beats a urandom syscall per request.
    span = b"%016x" % random.getrandbits(64)
    if incoming is not None:
        match = _TRACEPARENT.match(incoming.strip().lower())
        if match and match.group(1) != b"ff" and match.group(2) != _ZERO_TRACE:
            return b"00-" + match.group(2) + b"-" + span + b"-" + match.group(4)
    return b"00-%032x-%s-01" % (random.getrandbits(128) or 1, span)
