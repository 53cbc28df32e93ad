"""Prometheus exposition of the metrics processor: bounded labels, stale QPS reads 0, and
series of revoked projects disappear."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest

from processors.metrics.aggregate import UsageBook
from processors.metrics.exposition import UsageMetrics
from processors.metrics.pricing import PriceTable
from schemas.usage import UsagePartial

MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def setup(now_s: list[int]) -> tuple[CollectorRegistry, UsageBook, UsageMetrics]:
    registry, book = CollectorRegistry(), UsageBook(60)
    metrics = UsageMetrics(registry, PriceTable(), lambda: book.current(now_s[0]))
    return registry, book, metrics


def test_current_qps_is_read_at_scrape_time_and_drops_to_zero_when_stale() -> None:
    clock = [MARCH + 2]
    registry, book, _ = setup(clock)
    book.apply(UsagePartial(project="acme", second=MARCH, images=42), 0, 0)
    book.apply(UsagePartial(project="acme", second=MARCH + 1, images=1), 0, 1)
    assert registry.get_sample_value("shotline_metrics_qps_current", {"project": "acme"}) == 42
    clock[0] = MARCH + 120
    assert registry.get_sample_value("shotline_metrics_qps_current", {"project": "acme"}) == 0


def test_monthly_series_carry_only_project_month_and_item_labels() -> None:
    registry, book, metrics = setup([MARCH])
    book.apply(UsagePartial(project="acme", second=MARCH, images=11_000), 0, 0)
    metrics.publish(book.snapshot("acme", "2026-03", PriceTable(), False, NOW), 100.0)
    labels = {"project": "acme", "month": "2026-03", "item": "total"}
    # 11,000 images in one second: $0.03 for images + (11,000 - 500) * $1.5 for the peak.
    assert registry.get_sample_value("shotline_metrics_cost_usd", labels) == 15_750.03
    names = {
        label
        for family in registry.collect()
        for sample in family.samples
        for label in sample.labels
    }
    assert names <= {"project", "month", "item"}


def test_revoked_projects_leave_no_series_behind() -> None:
    registry, book, metrics = setup([MARCH])
    book.apply(UsagePartial(project="acme", second=MARCH, images=5), 2, 0)
    metrics.publish(book.snapshot("acme", "2026-03", PriceTable(), False, NOW), 100.0)
    metrics.forget(book.drop({2}))
    text = generate_latest(registry).decode()
    assert 'project="acme"' not in text


def test_only_the_two_latest_months_are_exported_per_project() -> None:
    registry, book, metrics = setup([MARCH])
    for n, month in enumerate(("2026-01", "2026-02", "2026-03")):
        second = int(datetime(2026, n + 1, 5, tzinfo=UTC).timestamp())
        book.apply(UsagePartial(project="acme", second=second, images=1), 0, n)
        metrics.publish(book.snapshot("acme", month, PriceTable(), False, NOW), 100.0)
    months = {
        s.labels["month"]
        for family in registry.collect()
        if family.name == "shotline_metrics_qps_peak"
        for s in family.samples
    }
    assert months == {"2026-02", "2026-03"}
