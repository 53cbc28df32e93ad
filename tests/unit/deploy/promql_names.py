"""What a dashboard or rule asks Prometheus for, and what shotline exports.

``exported_metric_names`` reads the source: every string literal ``shotline_...`` passed as
the first argument of a call (``Counter("shotline_x_total", ...)``, ``LoopHistogram(...)``,
``GaugeMetricFamily(...)``, a local ``gauge(...)`` helper) is a metric family, expanded with
the sample suffixes prometheus-client writes (``_total``, ``_created``, ``_bucket``,
``_sum``, ``_count``). New metrics in new modules are picked up without editing a list.

``metric_names`` takes the selector names out of a PromQL expression: Grafana variables are
replaced, strings, label matchers, ``by (...)``-style clauses, ranges and function calls are
removed, and the identifiers left are metric names. promtool checks the syntax separately.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["dashboard_queries", "exported_metric_names", "grafana_to_promql", "metric_names"]

_SUFFIXES = ("", "_total", "_created", "_bucket", "_sum", "_count")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset", "inf", "nan"}  # fmt: skip


def exported_metric_names(*packages: Path) -> set[str]:
    names: set[str] = set()
    for package in packages:
        for path in package.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                first = node.args[0] if isinstance(node, ast.Call) and node.args else None
                if (
                    isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and re.fullmatch(r"shotline_[a-z0-9_]+", first.value)
                ):
                    base = first.value.removesuffix("_total")
                    names.update(base + suffix for suffix in _SUFFIXES)
    return names


def grafana_to_promql(query: str) -> str:
    """Grafana's template variables replaced by values PromQL accepts."""
    query = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", query)
    query = re.sub(r"\$\{[^}]+\}", ".*", query)
    return re.sub(r"\$[A-Za-z_]\w*", ".*", query)


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', grafana_to_promql(expr))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        word = match.group(0)
        if following.startswith("(") or word.lower() in _KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", word) or (
            match.start() and text[match.start() - 1].isdigit()
        ):
            continue
        names.add(word)
    return names


def dashboard_queries(node: Any) -> Iterator[str]:
    """Every PromQL expression of a Grafana dashboard: panel targets' ``expr`` and query
    variables (``label_values(metric, label)`` yields ``metric``)."""
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        if node.get("type") == "query":
            query = node.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            if isinstance(query, str):
                values = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*", query)
                yield values.group(1) if values else query
        for value in node.values():
            yield from dashboard_queries(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_queries(value)
