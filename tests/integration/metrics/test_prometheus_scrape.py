"""A real Prometheus (Debian's binary) scrapes the metrics processor's /metrics, and PromQL
over its HTTP API returns the peak and the bill computed from the broker's records."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from processors.metrics.handler import MetricsProcessor, TallyProcessor
from schemas import KafkaSettings
from shotline.dev.prometheus import PrometheusServer
from tests.integration.metrics.feed import burst, publish, steady
from tests.integration.metrics.harness import run_until_idle

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus, pytest.mark.slow]

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy/grafana/dashboards/shotline-billing.json"
MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def exporter() -> Iterator[tuple[CollectorRegistry, int]]:
    registry = CollectorRegistry()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield registry, port
    server.shutdown()
    thread.join(timeout=5)


def wait_for(prom: PrometheusServer, promql: str, timeout_s: float = 30.0) -> float | None:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        result = prom.query(promql)
        if result:
            value = float(result[0]["value"][1])
            return value
        time.sleep(0.5)
    return value


async def test_prometheus_scrapes_peak_and_bill_from_the_metrics_processor(
    kafka: KafkaSettings, exporter: tuple[CollectorRegistry, int], tmp_path: Path
) -> None:
    registry, port = exporter
    # A peak of 501 spread over every partition, plus 10,500 more images:
    # images (11,001 - 10,000) * 0.00003 = 0.03003 -> $0.03; QPS 1 * 1.5 = $1.50; total $1.53.
    await publish(kafka, burst("acme", MARCH, 501, "b") + steady("acme", MARCH + 1, 105, 100, "s"))
    await run_until_idle(TallyProcessor(), kafka)
    await run_until_idle(MetricsProcessor(), kafka, registry=registry)

    prom = PrometheusServer(tmp_path / "prometheus", free_port(), [f"127.0.0.1:{port}"])
    prom.start()
    try:
        peak = wait_for(prom, 'shotline_metrics_qps_peak{project="acme",month="2026-03"}')
        total = wait_for(
            prom, 'sum by (project) (shotline_metrics_cost_usd{project="acme",item="total"})'
        )
        images = wait_for(prom, 'shotline_metrics_billable_images{project="acme"}')
        over_free = wait_for(
            prom,
            'max(shotline_metrics_qps_peak) - scalar(shotline_metrics_free_tier{item="qps"})',
        )
        # Every dashboard query is valid PromQL; the billing ones find this project's series.
        empty = []
        for expr in dashboard_queries():
            result = prom.query(expr)  # raises on a query Prometheus refuses
            if "shotline_metrics_" in expr and not result:
                empty.append(expr)
    finally:
        prom.stop()
    assert (peak, total, images, over_free) == (501.0, 1.53, 11_001.0, 1.0)
    assert empty == []


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    return [e.replace("$project", ".*").replace("$month", ".*") for e in exprs]
