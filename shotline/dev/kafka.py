"""The local Apache Kafka: jars resolved by Maven from the pinned pom, one KRaft node.

Jars are cached under ``<home>/kafka/<pom hash>/libs`` so a changed pom re-resolves; data
lives in ``<home>/data/kafka`` and survives ``down``/``up`` until ``down --purge``. A node of
a multi-node cluster (``shotline.dev.kafka_cluster``) carries its id in its file names
(``data/kafka-2``, ``run/kafka-2.pid``) and its ports are offset by ``2 * (id - 1)``; the
cluster passes the properties it adds (quorum, replication, listeners) as ``overrides``.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from schemas import KafkaSettings
from shotline.dev.probe import kafka_serves_metadata
from shotline.dev.process import BackgroundProcess
from shotline.dev.settings import DevSettings
from shotline.errors import ServiceError

__all__ = ["KafkaNode", "new_cluster_id"]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"


class KafkaNode:
    """One KRaft node (combined broker and controller roles).

    ``KafkaNode(settings)`` is the single-node default; a cluster passes ``node_id``,
    ``clustered=True``, the properties it overrides, the host its listener advertises and
    the client settings that reach it (TLS, SASL) for the readiness probe.
    """

    def __init__(
        self,
        settings: DevSettings,
        node_id: int = 1,
        *,
        clustered: bool = False,
        overrides: str = "",
        host: str = "127.0.0.1",
        client: KafkaSettings | None = None,
    ) -> None:
        self.settings = settings
        self.node_id = node_id
        self.port = settings.kafka_port + 2 * (node_id - 1)
        self.controller_port = settings.kafka_controller_port + 2 * (node_id - 1)
        self.host = host
        self.overrides = overrides
        suffix = f"-{node_id}" if clustered else ""
        self.data_dir = settings.home / "data" / f"kafka{suffix}"
        run = settings.home / "run"
        self.properties = run / f"kafka{suffix}.properties"
        self.process = BackgroundProcess(
            name=f"kafka{suffix}",
            pid_file=run / f"kafka{suffix}.pid",
            log_file=run / f"kafka{suffix}.log",
            marker=f"{self.properties}",
        )
        self.client = client or KafkaSettings(bootstrap=self.address)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def libs(self) -> Path:
        """Resolve (once per pom version) the broker's jars with Maven and return their folder."""
        pom = DEPLOY / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
        libs = self.settings.home / "kafka" / digest / "libs"
        if (libs / ".complete").exists():
            return libs
        if shutil.which("mvn") is None:
            raise ServiceError("Maven (mvn) is not on PATH; install it to fetch Kafka")
        libs.mkdir(parents=True, exist_ok=True)
        cmd = [
            "mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}", "-DincludeScope=runtime",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"mvn could not resolve Kafka:\n{result.stdout}{result.stderr}")
        (libs / ".complete").touch()
        return libs

    def _java(self, libs: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java", f"-Xmx{heap}", "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
            "-cp", f"{libs}/*", main, *args,
        ]  # fmt: skip

    def _write_properties(self) -> None:
        text = (DEPLOY / "server.properties").read_text()
        text = (
            text.replace("@DATA_DIR@", str(self.data_dir))
            .replace("@PORT@", str(self.port))
            .replace("@CONTROLLER_PORT@", str(self.controller_port))
        )
        if self.overrides:
            # java.util.Properties keeps the last value of a repeated key.
            text += "\n# shotline dev cluster overrides\n" + self.overrides
        self.properties.parent.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(text)
        self.properties.chmod(0o600)  # may hold the dev cluster's keystore password

    def _format(self, libs: Path, cluster_id: str | None, extra: tuple[str, ...]) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = self._java(
            libs, "kafka.tools.StorageTool", "format",
            f"--cluster-id={cluster_id or new_cluster_id()}",
            f"--config={self.properties}", "--ignore-formatted", *extra,
        )  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"formatting the KRaft data dir failed:\n{result.stderr}")

    def start(self, cluster_id: str | None = None, format_args: tuple[str, ...] = ()) -> bool:
        """Start the node unless it runs, without waiting; True if started. A new data dir
        is formatted with ``cluster_id`` (random if None) and ``format_args``."""
        if self.process.pid() is not None:
            return False
        if shutil.which("java") is None:
            raise ServiceError("java is not on PATH; Java 17 is needed to run Kafka")
        libs = self.libs()
        self._write_properties()
        self._format(libs, cluster_id, format_args)
        for port in {self.port, self.controller_port} if self.overrides else {self.port}:
            if _port_open(port):
                raise ServiceError(
                    f"port {port} is taken by another process; "
                    "stop it or set SHOTLINE_DEV_KAFKA_PORT / SHOTLINE_DEV_KAFKA_CONTROLLER_PORT"
                )
        argv = self._java(libs, "kafka.Kafka", str(self.properties), heap=self.settings.kafka_heap)
        self.process.start(argv)
        return True

    def up(self) -> bool:
        """Start the node unless it runs; wait until it serves metadata. True if started."""
        started = self.start()
        self.wait_ready()
        return started

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.pid() is None:
                raise ServiceError(f"Kafka exited; see {self.process.log_file}")
            if kafka_serves_metadata(self.address, kafka=self.client):
                return
            time.sleep(0.5)
        raise ServiceError(f"Kafka did not serve metadata in time; see {self.process.log_file}")

    def down(self, purge: bool = False) -> bool:
        stopped = self.process.stop(timeout_s=60)
        if purge:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return stopped


def new_cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
