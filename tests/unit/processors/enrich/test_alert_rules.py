"""enrich's alert rules (deploy/prometheus/rules) pass their promtool unit tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.paths import ROOT

PROM = ROOT / "deploy" / "prometheus"
pytestmark = pytest.mark.debian


def test_missing_object_and_denied_alerts_fire_per_their_promtool_tests() -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool missing: run make prometheus-tools (make test does)")
    result = subprocess.run(
        ["promtool", "test", "rules", "tests/enrich.rules.test.yml"],
        cwd=PROM,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
