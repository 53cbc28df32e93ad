"""``shotline s3-events`` refuses bad arguments with one clear line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import S3_ENDPOINT

pytestmark = [pytest.mark.s3]

SHOTLINE = str(Path(sys.executable).with_name("shotline"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHOTLINE, "s3-events", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_unknown_project_is_one_clear_line_and_exit_2() -> None:
    result = run("--sqs-queue-url", f"{S3_ENDPOINT}/123456789012/q", "--project", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown project 'nope'"


def test_queue_that_does_not_exist_is_one_clear_line_and_exit_1() -> None:
    result = run("--sqs-queue-url", f"{S3_ENDPOINT}/123456789012/no-such-queue-shotline")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach ")
    assert "Traceback" not in result.stderr
