"""deploy/compose passes the Compose Specification schema (check-jsonschema's bundled copy),
Debian's docker-compose resolves it (no daemon needed for `config`), and its contents agree
with the code: one service per processor, the pinned Kafka, replication for transactions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from processors.registry import BUILTINS
from schemas import Topics
from tests.unit.deploy.conftest import NOT_YET_REGISTERED, REPO, tool

pytestmark = pytest.mark.debian  # Debian's docker-compose and promtool

COMPOSE = REPO / "deploy" / "compose"
FILES = [COMPOSE / "compose.yaml", COMPOSE / "compose.cluster.yaml"]


def test_compose_files_match_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *map(str, FILES)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = (COMPOSE / "compose.yaml").read_text()
    broken.write_text(text.replace("stop_grace_period: 45s", "stop_grace_periods: 45s", 1))
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0


def _config(*files: Path) -> dict[str, Any]:
    """`docker-compose config` of the files, as the compose CLI resolves and merges them."""
    argv = [tool("docker-compose")]
    for path in files:
        argv += ["-f", str(path)]
    env = os.environ | {"DOCKER_HOST": "unix:///nonexistent.sock"}  # proves no daemon is used
    result = subprocess.run(
        [*argv, "config"], capture_output=True, text=True, check=False, timeout=120, env=env,
        cwd=COMPOSE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _mount(volume: str | dict[str, str]) -> tuple[str, str]:
    """(source, target) of a short (``src:dst[:mode]``) or long-syntax volume."""
    if isinstance(volume, str):
        source, target = volume.split(":")[:2]
        return source, target
    return volume.get("source", ""), volume["target"]


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    return _config(FILES[0])


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    return _config(*FILES)


def test_every_processor_runs_as_a_service(single: dict[str, Any]) -> None:
    services = single["services"]
    for name in set(BUILTINS) | set(NOT_YET_REGISTERED):
        assert services[name]["command"][:2] == ["process", name], name
    assert services["topics"]["command"][:2] == ["topics", "create"]
    assert services["ingest"]["command"][0] == "ingest"
    spool = services["ingest"]["environment"]["SHOTLINE_INGEST_SPOOL_DIR"]
    named = set(single["volumes"])
    mounts = [_mount(v) for v in services["ingest"]["volumes"]]
    assert any(source in named and target == spool for source, target in mounts)
    for name in ["ingest", *BUILTINS]:
        after = services[name]["depends_on"]["topics"]["condition"]
        assert after == "service_completed_successfully"


def test_the_console_runs_once_with_options_the_cli_knows(single: dict[str, Any]) -> None:
    from typer.testing import CliRunner

    from shotline.cli import app

    console = single["services"]["console"]
    assert console["command"][0] == "console"
    assert console.get("deploy", {}).get("replicas", 1) == 1  # sessions live in memory
    # every option of the compose command is one `shotline console` accepts
    help_text = CliRunner().invoke(app, ["console", "--help"], terminal_width=200).output
    for option in (part for part in console["command"] if part.startswith("--")):
        assert option in help_text, option


def test_kafka_is_the_pinned_version_with_replication_for_transactions(
    single: dict[str, Any], cluster: dict[str, Any]
) -> None:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert pinned
    kafka = single["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{pinned.group(1)}"
    env = kafka["environment"]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    nodes = [
        s for s in cluster["services"].values() if s.get("image", "").startswith("apache/kafka")
    ]
    assert len(nodes) == 3
    for node in nodes:
        env = node["environment"]
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert cluster["services"]["topics"]["command"][-2:] == ["--replication", "3"]


def test_the_store_publishes_events_to_the_s3events_topic(single: dict[str, Any]) -> None:
    env = single["services"]["s3"]["environment"]
    assert env["VGW_EVENT_KAFKA_TOPIC"] == Topics().s3events


def test_prometheus_scrapes_every_shotline_service_and_loads_the_rules(
    single: dict[str, Any], tmp_path: Path
) -> None:
    config = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    for name, service in single["services"].items():
        command = service.get("command") or []
        if command[:1] == ["process"]:
            assert f"{name}:{command[command.index('--port') + 1]}" in targets
        if command[:1] == ["ingest"]:
            assert f"{name}:{command[command.index('--port') + 1]}" in targets
        if command[:1] == ["console"]:
            assert f"{name}:{command[command.index('--metrics-port') + 1]}" in targets
    # promtool resolves rule_files relative to the config, as the mounts lay them out
    shutil.copy(COMPOSE / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copytree(REPO / "deploy" / "prometheus" / "rules", tmp_path / "rules")
    result = subprocess.run(
        [tool("promtool"), "check", "config", "prometheus.yml"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_projects_file_is_a_valid_projects_table() -> None:
    import tomllib

    from schemas import ProjectConfig

    table = tomllib.loads((COMPOSE / "shotline.example.toml").read_text())
    projects = {k: ProjectConfig.model_validate(v) for k, v in table["projects"].items()}
    assert all(p.s3_endpoint == "http://s3:7070" for p in projects.values())
