"""Prometheus exposition of billing. Labels are bounded: project, month, item — never a
requestId, channel or user. Each instance exports only the projects it owns, and drops
their series when their partitions are revoked, so sums over instances never double."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from processors.metrics.pricing import PriceTable
from schemas.usage import UsageRecord

__all__ = ["CurrentQps", "StageOneMetrics", "UsageMetrics"]


class StageOneMetrics:
    """Counters of the ``tally`` processor (rate() of these is processing throughput)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.screenshots = Counter(
            "shotline_tally_screenshots_total",
            "Screenshots counted by stage 1, by kind (item).",
            ["project", "item"],
            registry=registry,
        )

    def count(self, project: str, item: str, n: int) -> None:
        if n:
            self.screenshots.labels(project, item).inc(n)


class CurrentQps(Collector):
    """``shotline_metrics_qps_current``, computed at scrape time from the owned state, so a
    project that stopped sending reads 0 instead of its last rate forever."""

    def __init__(self, source: Callable[[], dict[str, int]]) -> None:
        self.source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "shotline_metrics_qps_current",
            "Billable screenshots in the project's last complete event-time second "
            "(0 once its newest screenshot is older than a minute).",
            labels=["project"],
        )
        for project, qps in sorted(self.source().items()):
            family.add_metric([project], qps)
        yield family


class UsageMetrics:
    """Gauges of the ``metrics`` processor: the monthly state it owns."""

    def __init__(
        self,
        registry: CollectorRegistry,
        prices: PriceTable,
        current_qps: Callable[[], dict[str, int]],
    ) -> None:
        def gauge(name: str, doc: str, labels: list[str]) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        registry.register(CurrentQps(current_qps))
        self.peak = gauge(
            "shotline_metrics_qps_peak",
            "Highest per-second count of the month.",
            ["project", "month"],
        )
        self.images = gauge(
            "shotline_metrics_billable_images",
            "Unique screenshots with code 200 in the month.",
            ["project", "month"],
        )
        self.cost = gauge(
            "shotline_metrics_cost_usd",
            "Estimated Agora bill of the month (item = images, qps, total).",
            ["project", "month", "item"],
        )
        self.events = gauge(
            "shotline_metrics_events",
            "Other monthly counts (item = duplicates, checksum_failures, late, incomplete, "
            "skewed).",
            ["project", "month", "item"],
        )
        self.budget = gauge(
            "shotline_metrics_budget_usd", "Monthly budget per project.", ["project"]
        )
        free = gauge("shotline_metrics_free_tier", "Free tier per month, by item.", ["item"])
        free.labels("images").set(prices.free_images)
        free.labels("qps").set(prices.free_qps)
        self._months: dict[str, set[str]] = {}

    def publish(self, record: UsageRecord, budget: float) -> None:
        p, m = record.project, record.month
        self._months.setdefault(p, set()).add(m)
        self.budget.labels(p).set(budget)
        self.peak.labels(p, m).set(record.peak_qps)
        self.images.labels(p, m).set(record.billable_images)
        self.cost.labels(p, m, "images").set(float(record.images_cost_usd))
        self.cost.labels(p, m, "qps").set(float(record.qps_cost_usd))
        self.cost.labels(p, m, "total").set(float(record.total_cost_usd))
        self.events.labels(p, m, "duplicates").set(record.duplicates)
        self.events.labels(p, m, "checksum_failures").set(record.checksum_failures)
        self.events.labels(p, m, "late").set(record.late_events)
        self.events.labels(p, m, "incomplete").set(record.incomplete)
        self.events.labels(p, m, "skewed").set(record.skewed_events)
        # Keep the current and the previous month per project: the label set stays bounded.
        for old in sorted(self._months[p])[:-2]:
            self._remove_month(p, old)

    def forget(self, projects: Iterable[str]) -> None:
        """Drop every series of projects this instance no longer owns."""
        for p in projects:
            for m in self._months.pop(p, set()):
                self._remove_month(p, m, keep=False)
            _remove(self.budget, p)

    def _remove_month(self, p: str, m: str, keep: bool = True) -> None:
        if keep:
            self._months[p].discard(m)
        for g in (self.peak, self.images):
            _remove(g, p, m)
        for item in ("images", "qps", "total"):
            _remove(self.cost, p, m, item)
        for item in ("duplicates", "checksum_failures", "late", "incomplete", "skewed"):
            _remove(self.events, p, m, item)


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set
        gauge.remove(*labels)
