"""Fixtures of the reconciler's integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.shotline.reconcile.harness import drop_bucket


@pytest.fixture
def buckets() -> Iterator[list[str]]:
    """Names of the buckets a test makes (``new_bucket``); deleted afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        drop_bucket(name)
