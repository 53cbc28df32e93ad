"""The local Apache Kafka: jars resolved by Maven from the pinned pom, one KRaft node.

Jars are cached under ``<home>/kafka/<pom hash>/libs`` so a changed pom re-resolves; data
lives in ``<home>/data/kafka`` and survives ``down``/``up`` until ``down --purge``.
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

from shotline.dev.probe import kafka_serves_metadata
from shotline.dev.process import BackgroundProcess
from shotline.dev.settings import DevSettings

__all__ = ["KafkaNode", "ServiceError"]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"


class ServiceError(RuntimeError):
    """A local service could not be prepared or started; the message says what to do."""


class KafkaNode:
    def __init__(self, settings: DevSettings) -> None:
        self.settings = settings
        self.data_dir = settings.home / "data" / "kafka"
        run = settings.home / "run"
        self.properties = run / "kafka.properties"
        self.process = BackgroundProcess(
            name="kafka",
            pid_file=run / "kafka.pid",
            log_file=run / "kafka.log",
            marker=f"{self.properties}",
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

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
            .replace("@PORT@", str(self.settings.kafka_port))
            .replace("@CONTROLLER_PORT@", str(self.settings.kafka_controller_port))
        )
        self.properties.parent.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(text)

    def _format(self, libs: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = _kafka_uuid()
        cmd = self._java(
            libs, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
            f"--config={self.properties}", "--ignore-formatted",
        )  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"formatting the KRaft data dir failed:\n{result.stderr}")

    def up(self) -> bool:
        """Start the node unless it runs; wait until it serves metadata. True if started."""
        if self.process.pid() is not None:
            self.wait_ready()
            return False
        if shutil.which("java") is None:
            raise ServiceError("java is not on PATH; Java 17 is needed to run Kafka")
        libs = self.libs()
        self._write_properties()
        self._format(libs)
        if _port_open(self.settings.kafka_port):
            raise ServiceError(
                f"port {self.settings.kafka_port} is taken by another process; "
                "stop it or set SHOTLINE_DEV_KAFKA_PORT"
            )
        argv = self._java(libs, "kafka.Kafka", str(self.properties), heap=self.settings.kafka_heap)
        self.process.start(argv)
        self.wait_ready()
        return True

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.pid() is None:
                raise ServiceError(f"Kafka exited; see {self.process.log_file}")
            if kafka_serves_metadata(self.address):
                return
            time.sleep(0.5)
        raise ServiceError(f"Kafka did not serve metadata in time; see {self.process.log_file}")

    def down(self, purge: bool = False) -> bool:
        stopped = self.process.stop(timeout_s=60)
        if purge:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return stopped


def _kafka_uuid() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
