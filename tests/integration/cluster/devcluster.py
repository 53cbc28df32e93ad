"""A throwaway ``shotline dev up`` cluster for tests: its own home under a temp dir, free
ports, the real CLI to start, inspect and stop it, and its client settings read back from
the env file it writes (so tests use exactly what a user would)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemas import KafkaSettings
from shotline.dev import topology
from shotline.dev.kafka_cluster import read_client_env
from shotline.dev.settings import DevSettings

SHOTLINE = str(Path(sys.executable).with_name("shotline"))
ROOT = Path(__file__).resolve().parents[3]


def free_port_base(brokers: int) -> int:
    """A base port such that base + 0..2*brokers-1 (client and controller ports) are free."""
    return topology.free_port_base(2 * brokers)


class DevCluster:
    """``shotline dev`` with ``SHOTLINE_DEV_HOME`` under ``tmp`` and free ports."""

    def __init__(self, tmp: Path, brokers: int = 1, security: str = "plaintext") -> None:
        self.home = tmp / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        # Share the broker jars with the developer's cache: no second Maven download.
        jars = DevSettings().home / "kafka"
        if jars.exists() and not (self.home / "kafka").exists():
            (self.home / "kafka").symlink_to(jars)
        base = free_port_base(brokers)
        self.brokers, self.security = brokers, security
        self.dev_env = {
            "SHOTLINE_DEV_HOME": str(self.home),
            "SHOTLINE_DEV_KAFKA_PORT": str(base),
            "SHOTLINE_DEV_KAFKA_CONTROLLER_PORT": str(base + 1),
            "SHOTLINE_DEV_KAFKA_HEAP": "256m",
        }

    def run(self, *args: str, env: dict[str, str] | None = None, timeout_s: float = 240) -> Any:
        """``shotline <args>`` with the dev env (plus ``env``); the CompletedProcess."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOTLINE_KAFKA_")}
        return subprocess.run(
            [SHOTLINE, *args],
            env={**clean, **self.dev_env, "PYTHONPATH": str(ROOT), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=ROOT,
        )

    def up(self) -> None:
        args = ["dev", "up", "--no-s3", "--brokers", str(self.brokers)]
        done = self.run(*args, "--security", self.security)
        assert done.returncode == 0, done.stderr + done.stdout

    def down(self) -> None:
        self.run("dev", "down", "--purge", timeout_s=180)

    def status(self) -> dict[str, Any]:
        done = self.run("dev", "status", "--json")
        return dict(json.loads(done.stdout)["kafka"])

    @property
    def client_env(self) -> dict[str, str]:
        """The SHOTLINE_KAFKA_* settings ``dev up`` wrote (secrets included)."""
        return read_client_env(self.home / "run" / "kafka-client.env")

    def kafka(self, topic_prefix: str = "") -> KafkaSettings:
        fields = {k.removeprefix("SHOTLINE_KAFKA_").lower(): v for k, v in self.client_env.items()}
        return KafkaSettings(**fields, topic_prefix=topic_prefix)

    def env(self, kafka: KafkaSettings) -> dict[str, str]:
        """Environment for a shotline process reaching this cluster with ``kafka``'s prefix."""
        return {**self.client_env, "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix}
