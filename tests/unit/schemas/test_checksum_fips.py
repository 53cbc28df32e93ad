"""The checksum is integrity, not security: it must keep working on a FIPS-mode host, where
OpenSSL refuses MD5 unless the caller says ``usedforsecurity=False``."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from schemas import checksum


def test_checksum_works_where_md5_for_security_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_md5 = hashlib.md5

    def fips_md5(data: bytes = b"", *, usedforsecurity: Any = True) -> Any:
        if usedforsecurity:  # what a FIPS-mode OpenSSL answers
            raise ValueError("[digital envelope routines] unsupported")
        return real_md5(data, usedforsecurity=False)

    expected = checksum("https://x", 200, "o", "r")
    monkeypatch.setattr(hashlib, "md5", fips_md5)
    assert checksum("https://x", 200, "o", "r") == expected


def test_checksum_hashes_the_fields_as_utf8() -> None:
    digest = checksum("https://x/é", 200, "频道/o", "r")
    assert digest == hashlib.md5("https://x/é200频道/or".encode()).hexdigest()
