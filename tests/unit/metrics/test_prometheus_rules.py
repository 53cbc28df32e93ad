"""The alert rules and scrape config pass promtool, and the rule unit tests hold."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.prometheus

PROM = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool missing: run make prometheus-tools (make test does)")
    return subprocess.run(
        ["promtool", *args], cwd=PROM, capture_output=True, text=True, check=False, timeout=60
    )


def test_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", "rules/shotline.rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", "tests/shotline.rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_scrape_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
