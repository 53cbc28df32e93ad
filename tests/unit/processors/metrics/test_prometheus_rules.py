"""The alert rules and scrape config pass promtool, and the rule unit tests hold."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from shotline.dev.topology import Layout, builtin_processors
from tests.paths import ROOT

pytestmark = [pytest.mark.prometheus, pytest.mark.debian]

PROM = ROOT / "deploy" / "prometheus"


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


def test_scrape_targets_are_named_after_the_processors_dev_run_puts_on_their_ports() -> None:
    layout = Layout()
    text = (PROM / "prometheus.yml").read_text()
    named = {
        int(port): name
        for port, name in re.findall(r'"127\.0\.0\.1:(\d+)"\s+#\s+([a-z]+)', text)
        if int(port) >= layout.processor_base_port
    }
    expected = {layout.processor_port(i): name for i, name in enumerate(builtin_processors())}
    spare = {port: name for port, name in named.items() if name == "spare"}
    assert {port: name for port, name in named.items() if port not in spare} == expected
