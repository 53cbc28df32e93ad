"""Billing reads dedupe's real output record: the fields it needs survive the round trip."""

from __future__ import annotations

from datetime import UTC, datetime

from processors.dedupe.logic import normalise
from processors.metrics.handler import ScreenshotView
from tests.callbacks_factory import envelope


def test_a_screenshot_record_from_dedupe_validates_as_billing_input() -> None:
    record = normalise(envelope(7, project="acme"), 2_000)
    view = ScreenshotView.model_validate_json(record.model_dump_json())
    assert (view.project, view.request_id, view.callback.code) == ("acme", "req-7", 200)
    assert view.event_time == datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC)
    assert view.checksum_status == "ok"
    assert view.received_at == record.received_at
