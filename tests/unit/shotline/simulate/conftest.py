from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.shotline.simulate.receiver import Receiver, ReceiverServer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with ReceiverServer(Receiver()) as running:
        yield running
