"""Distinct, small, real JPEG screenshots without an imaging library.

Each image is a complete baseline JPEG (8x8 pixels, one grey channel) built from its
segments: a comment segment carries the caller's tag, so every screenshot's bytes differ,
and the tag's hash picks the grey level, so the pixels differ too. The Huffman tables hold
one code each, which keeps the entropy-coded data to a single byte that never needs
0xFF stuffing.
"""

from __future__ import annotations

import hashlib
import struct

__all__ = ["jpeg_bytes"]

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_DC_CATEGORY = 6  # DC differences 32..63 in magnitude: 6 extra bits after the 1-bit code
_QUANT = 8  # with a quantiser of 8, DC d gives a level of 128 + d


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _tables() -> bytes:
    dqt = _segment(0xDB, b"\x00" + bytes([_QUANT] * 64))
    frame = _segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    one_code = bytes([1] + [0] * 15)  # a single code of length 1 ("0")
    dht = _segment(0xC4, b"\x00" + one_code + bytes([_DC_CATEGORY]) + b"\x10" + one_code + b"\x00")
    scan = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return dqt + frame + dht + scan


_TABLES = _tables()


def jpeg_bytes(tag: str) -> bytes:
    """A decodable 8x8 grey JPEG whose bytes are unique to ``tag`` (at most 65,000 bytes).

    The grey level is 65..96 or 160..191, chosen by the tag's hash.
    """
    text = tag.encode("utf-8")
    if len(text) > 65_000:
        raise ValueError("tag too long for a JPEG comment segment")
    digest = hashlib.blake2b(text, digest_size=1).digest()[0]
    # 6 extra bits: a leading 1 is a positive difference (32..63), a leading 0 a negative one.
    extra = digest & 0x3F
    # Bits: DC code "0", 6 extra bits, AC code "0" (end of block) -> exactly one byte.
    data = bytes([extra << 1])
    return _SOI + _segment(0xFE, text) + _TABLES + data + _EOI
