"""A production install without the dev extra: a verb that needs it fails with one clear
line naming the extra, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemas.extras import MissingExtraError, require_extra
from shotline.dev.s3 import S3Server
from shotline.dev.settings import DevSettings

# Runs the real CLI with moto made unimportable, as on an install without shotline[dev].
WITHOUT_MOTO = (
    "import sys; sys.modules['moto'] = None; "
    "from shotline.cli import main; sys.argv = ['shotline', *sys.argv[1:]]; main()"
)


def test_require_extra_names_the_extra_and_the_missing_module() -> None:
    require_extra("dev", "json", feature="x")  # present: no error
    with pytest.raises(MissingExtraError) as caught:
        require_extra("moderation-local", "json", "no_such_module_xyz", feature="local moderation")
    message = str(caught.value)
    assert "'moderation-local' extra" in message
    assert "no_such_module_xyz" in message
    assert "pip install 'shotline[moderation-local]'" in message


def test_the_local_s3_server_needs_the_dev_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    server = S3Server(DevSettings(home=tmp_path, s3_port=1))
    with pytest.raises(MissingExtraError, match=r"shotline\[dev\]"):
        server.up()
    assert server.process.pid() is None


@pytest.mark.parametrize("verb", [["dev", "status"], ["dev", "up"]])
def test_cli_verb_without_the_dev_extra_prints_one_line(verb: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_MOTO, *verb],
        capture_output=True, text=True, check=False, timeout=60,
        env={"PATH": "/usr/bin:/bin", "SHOTLINE_DEV_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: shotline dev needs the 'dev' extra")
