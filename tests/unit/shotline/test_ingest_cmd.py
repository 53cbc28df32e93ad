"""``shotline ingest --workers N`` tells every uvicorn worker the real worker count."""

from __future__ import annotations

import os
from typing import Any

import pytest

from shotline import ingest_cmd


def test_workers_option_is_exported_to_the_workers_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOTLINE_INGEST_WORKERS", "1")  # restored after the test
    seen: dict[str, Any] = {}

    def fake_run(app: str, **kwargs: Any) -> None:
        # What a worker process would read when it rebuilds its settings.
        seen["env"] = os.environ.get("SHOTLINE_INGEST_WORKERS")
        seen["workers"] = kwargs["workers"]
        seen["settings"] = ingest_cmd.load_settings().ingest.workers

    monkeypatch.setattr(ingest_cmd.uvicorn, "run", fake_run)
    ingest_cmd.ingest(host=None, port=None, workers=3, log_level="warning")
    assert seen == {"env": "3", "workers": 3, "settings": 3}
