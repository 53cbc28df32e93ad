"""HMAC-SHA256 body signatures: the provider request option and the action webhook.

Header ``X-Shotline-Signature: t=<unix seconds>,sha256=<hex>`` where the MAC covers
``f"{t}.".encode() + body``, so a receiver can reject stale replays (check ``t`` is recent)
and verify with a constant-time compare (``verify``, also shown in docs/moderation.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Shotline-Signature"


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, now: float | None = None) -> str:
    """The header value for ``body``."""
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},sha256={_mac(secret, timestamp, body)}"


def verify(
    secret: bytes, body: bytes, header: str, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is at most ``tolerance_s`` old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["sha256"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(_mac(secret, timestamp, body), given)
