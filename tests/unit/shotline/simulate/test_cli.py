from __future__ import annotations

from typer.testing import CliRunner

from shotline.cli import app
from tests.unit.shotline.simulate.receiver import Receiver


def test_simulate_rejects_fault_rates_that_add_up_past_one(receiver: Receiver) -> None:
    args = ["simulate", "--url", receiver.url, "--count", "1", "--no-upload", "--quiet",
            "--bad-checksum-rate", "0.7", "--dropped-rate", "0.7"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "must not exceed 1" in " ".join(result.output.split())
    assert not receiver.requests
