"""The usage command's selection and JSON shape, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from typer.testing import CliRunner

from schemas.usage import UsageRecord
from shotline.cli import app
from shotline.usage_cmd import as_json, select

NOW = datetime(2026, 3, 20, tzinfo=UTC)


def rec(project: str, month: str) -> UsageRecord:
    return UsageRecord(project=project, month=month, updated_at=NOW)


def test_select_filters_and_sorts_by_project_then_month() -> None:
    records = [rec("b", "2026-03"), rec("a", "2026-03"), rec("a", "2026-02")]
    assert [(r.project, r.month) for r in select(records, None, None)] == [
        ("a", "2026-02"),
        ("a", "2026-03"),
        ("b", "2026-03"),
    ]
    assert [r.project for r in select(records, None, "2026-02")] == ["a"]
    assert select(records, "c", None) == []


def test_json_amounts_are_numbers_with_cents() -> None:
    r = UsageRecord(
        project="acme",
        month="2026-03",
        billable_images=25_000,
        peak_qps=2_000,
        images_cost_usd=Decimal("0.45"),
        qps_cost_usd=Decimal("2250.00"),
        total_cost_usd=Decimal("2250.45"),
        updated_at=NOW,
    )
    out = as_json(r)
    assert (out["images_cost_usd"], out["qps_cost_usd"], out["total_cost_usd"]) == (
        0.45,
        2250.0,
        2250.45,
    )
    assert (out["project"], out["month"], out["billable_images"], out["peak_qps"]) == (
        "acme",
        "2026-03",
        25_000,
        2_000,
    )


def test_malformed_month_is_refused_before_touching_kafka() -> None:
    result = CliRunner().invoke(app, ["usage", "--month", "2026-13"])
    assert result.exit_code == 2
