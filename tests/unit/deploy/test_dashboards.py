"""Every Grafana dashboard loads, its PromQL parses (promtool), and every metric it or an
alert rule names is one shotline's code exports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.conftest import REPO, tool
from tests.unit.deploy.promql_names import (
    dashboard_queries,
    exported_metric_names,
    grafana_to_promql,
    metric_names,
)

DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULES = REPO / "deploy" / "prometheus" / "rules" / "shotline.rules.yml"
# Series Prometheus itself writes (scrape health), not any exporter's.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


@pytest.fixture(scope="module")
def exported() -> set[str]:
    names = exported_metric_names(
        *(REPO / p for p in ("ingest", "processors", "shotline", "schemas"))
    )
    assert "shotline_processor_consumer_lag_records" in names
    assert "shotline_ingest_requests_total" in names  # a LoopCounter's exposed name
    # recording rules make new series from exported ones: usable by dashboards and alerts
    return names | _recorded()


def _recorded() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def _rule_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def test_there_are_dashboards_and_each_loads() -> None:
    assert DASHBOARDS
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"]
        assert dashboard["title"]
        assert list(dashboard_queries(dashboard)), path.name


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_name_only_exported_metrics(path: Path, exported: set[str]) -> None:
    queries = list(dashboard_queries(json.loads(path.read_text())))
    named = set().union(*(metric_names(q) for q in queries))
    assert named
    assert named - PROMETHEUS_OWN <= exported, sorted(named - PROMETHEUS_OWN - exported)


def test_alert_rules_name_only_exported_metrics(exported: set[str]) -> None:
    named = set().union(*(metric_names(expr) for expr in _rule_exprs()))
    assert named
    assert named - PROMETHEUS_OWN <= exported, sorted(named - PROMETHEUS_OWN - exported)


@pytest.mark.debian
@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_promql_parses(path: Path, tmp_path: Path) -> None:
    """promtool parses each expression, as a recording rule of a throwaway rule file."""
    queries = list(dashboard_queries(json.loads(path.read_text())))
    rules = [
        {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(q)}
        for i, q in enumerate(queries)
    ]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    result = subprocess.run(
        [tool("promtool"), "check", "rules", "rules.yml"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_catches_an_unknown_metric(exported: set[str]) -> None:
    expr = 'sum by (processor) (rate(shotline_processor_recordz_total{project=~"$project"}[5m]))'
    assert metric_names(expr) == {"shotline_processor_recordz_total"}
    assert not metric_names(expr) <= exported
