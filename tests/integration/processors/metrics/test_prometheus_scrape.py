"""A real Prometheus (Debian's binary) scrapes ``shotline process tally metrics``'s /metrics,
and PromQL over its HTTP API returns the peak and the bill computed from the broker's
records; every Grafana dashboard query is accepted by the same server."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import KafkaSettings
from shotline.dev.prometheus import PrometheusServer
from shotline.dev.topology import free_port
from tests.integration.processors.metrics.feed import burst, publish, steady
from tests.integration.processors.runner.streams import spawn, stop
from tests.paths import ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus, pytest.mark.slow]

DASHBOARD = ROOT / "deploy/grafana/dashboards/shotline-billing.json"
MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())


def settle(prom: PrometheusServer, promql: str, expected: float, timeout_s: float = 60.0) -> float:
    """Poll until the query's first sample equals ``expected``; return the last value seen."""
    deadline = time.monotonic() + timeout_s
    value = float("nan")
    while time.monotonic() < deadline:
        result = prom.query(promql)
        if result:
            value = float(result[0]["value"][1])
            if value == expected:
                break
        time.sleep(0.5)
    return value


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    return [e.replace("$project", ".*").replace("$month", ".*") for e in exprs]


async def test_prometheus_scrapes_peak_and_bill_from_the_metrics_processor(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    # A peak of 501 spread over every partition, plus 10,500 more images:
    # images (11,001 - 10,000) * 0.00003 = 0.03003 -> $0.03; QPS 1 * 1.5 = $1.50; total $1.53.
    await publish(kafka, burst("acme", MARCH, 501, "b") + steady("acme", MARCH + 1, 105, 100, "s"))
    port = free_port()
    log = tmp_path / "process.log"
    proc = spawn(kafka, ["process", "tally", "metrics", "--port", str(port)], log=log)
    prom = PrometheusServer(tmp_path / "prometheus", free_port(), [f"127.0.0.1:{port}"])
    prom.start()
    try:
        images = settle(prom, 'shotline_metrics_billable_images{project="acme"}', 11_001)
        peak = settle(prom, 'shotline_metrics_qps_peak{project="acme",month="2026-03"}', 501)
        total = settle(
            prom, 'sum by (project) (shotline_metrics_cost_usd{project="acme",item="total"})', 1.53
        )
        over_free = settle(
            prom,
            'max(shotline_metrics_qps_peak) - scalar(shotline_metrics_free_tier{item="qps"})',
            1,
        )
        counted = settle(
            prom, 'sum(shotline_tally_screenshots_total{project="acme",item="billable"})', 11_001
        )
        # Every dashboard query is valid PromQL; the billing ones find this project's series.
        empty = []
        for expr in dashboard_queries():
            result = prom.query(expr)  # raises on a query Prometheus refuses
            if "shotline_metrics_" in expr and not result:
                empty.append(expr)
    finally:
        prom.stop()
        assert stop(proc) == 0, log.read_text()[-3000:]
    assert (images, peak, total, over_free, counted) == (11_001, 501, 1.53, 1, 11_001)
    assert empty == []
