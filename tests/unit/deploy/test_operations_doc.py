"""The operations guide keeps up with what it documents: every alert has a section saying
what to do, and every setting the manifests set is in its tables."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.unit.deploy.conftest import REPO
from tests.unit.deploy.test_k8s_crossrefs import _env

GUIDE = (REPO / "docs" / "operations.md").read_text()


def test_every_alert_has_a_what_to_do_section() -> None:
    groups = yaml.safe_load((REPO / "deploy/prometheus/rules/shotline.rules.yml").read_text())
    alerts = {r["alert"] for g in groups["groups"] for r in g["rules"] if "alert" in r}
    sections = set(re.findall(r"^### (Shotline\w+)$", GUIDE, re.MULTILINE))
    assert alerts
    assert alerts == sections


def test_every_configmap_setting_is_documented(rendered: list[dict[str, Any]]) -> None:
    for name in _env(rendered):
        assert f"`{name}`" in GUIDE, name


def test_the_guide_covers_what_operators_ask() -> None:
    headings = set(re.findall(r"^## (.+)$", GUIDE, re.MULTILINE))
    assert {
        "Sizing",
        "Rolling upgrades of ingest without stranding a spool",
        "Scaling processors and what a rebalance costs",
        "DLQ triage and replay",
        "Spool disaster recovery",
        "Kafka security",
        "Alerts and what to do",
    } <= headings
