"""The local Kafka as a cluster: one node by default, or N KRaft nodes with combined roles,
optionally behind an SSL or SASL_SSL (SCRAM-SHA-512) client listener.

The shape (``brokers``, ``security``) is remembered in ``<home>/run/kafka-cluster.json`` so
``status`` and ``down`` cover every node without being told. With three or more nodes every
topic, the consumer offsets and the transaction state are replicated 3 times with
``min.insync.replicas=2``: one node may die without stopping ``acks=all`` writes.
The default (one plaintext node) is ``KafkaNode(settings)`` exactly as before.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from schemas import KafkaSettings
from shotline.dev.kafka import KafkaNode, new_cluster_id
from shotline.dev.kafka_tls import (
    CLIENT_USER,
    TlsMaterial,
    ensure_tls,
    listener_properties,
    scram_format_args,
)
from shotline.dev.settings import DevSettings
from shotline.errors import ServiceError

__all__ = ["DevSecurity", "KafkaCluster", "Shape"]

DevSecurity = Literal["plaintext", "ssl", "sasl_ssl"]


@dataclass(frozen=True)
class Shape:
    brokers: int = 1
    security: DevSecurity = "plaintext"

    @property
    def protocol(self) -> Literal["PLAINTEXT", "SSL", "SASL_SSL"]:
        return cast(Literal["PLAINTEXT", "SSL", "SASL_SSL"], self.security.upper())

    @property
    def replication(self) -> int:
        return min(self.brokers, 3)


class KafkaCluster:
    """The dev home's Kafka nodes. ``brokers``/``security`` None: the shape recorded in the
    home, else one plaintext node."""

    def __init__(
        self,
        settings: DevSettings,
        brokers: int | None = None,
        security: DevSecurity | None = None,
    ) -> None:
        self.settings = settings
        self.state_file = settings.home / "run" / "kafka-cluster.json"
        self.client_env = settings.home / "run" / "kafka-client.env"
        self.recorded = self._read_shape()
        self.shape = Shape(
            brokers=brokers or self.recorded.brokers,
            security=security or self.recorded.security,
        )
        self.nodes = self._nodes(None)

    def _read_shape(self) -> Shape:
        if not self.state_file.exists():
            return Shape()
        data = json.loads(self.state_file.read_text())
        return Shape(brokers=int(data["brokers"]), security=data["security"])

    def _tls(self) -> TlsMaterial | None:
        return None if self.shape.security == "plaintext" else ensure_tls(self.settings.home)

    def _nodes(self, tls: TlsMaterial | None) -> list[KafkaNode]:
        shape = self.shape
        if shape == Shape():
            return [KafkaNode(self.settings)]
        host = "127.0.0.1" if shape.security == "plaintext" else "localhost"
        client = self.client_settings(tls) if tls or shape.security == "plaintext" else None
        ids = range(1, shape.brokers + 1)
        voters = ",".join(
            f"{i}@127.0.0.1:{self.settings.kafka_controller_port + 2 * (i - 1)}" for i in ids
        )
        return [
            KafkaNode(
                self.settings,
                i,
                clustered=shape.brokers > 1,
                overrides=self._overrides(i, voters, host, tls),
                host=host,
                client=client,
            )
            for i in ids
        ]

    def _overrides(self, node_id: int, voters: str, host: str, tls: TlsMaterial | None) -> str:
        shape, listener = self.shape, self.shape.protocol
        port = self.settings.kafka_port + 2 * (node_id - 1)
        controller = self.settings.kafka_controller_port + 2 * (node_id - 1)
        lines = [
            f"node.id={node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners={listener}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners={listener}://{host}:{port}",
            f"listener.security.protocol.map={listener}:{listener},CONTROLLER:PLAINTEXT",
            f"inter.broker.listener.name={listener}",
        ]
        if shape.brokers > 1:
            rf, isr = shape.replication, min(2, shape.replication)
            lines += [
                f"default.replication.factor={rf}",
                f"min.insync.replicas={isr}",
                f"offsets.topic.replication.factor={rf}",
                f"transaction.state.log.replication.factor={rf}",
                f"transaction.state.log.min.isr={isr}",
                f"share.coordinator.state.topic.replication.factor={rf}",
                f"share.coordinator.state.topic.min.isr={isr}",
            ]
        text = "\n".join(lines) + "\n"
        return text + (listener_properties(listener, tls) if tls else "")

    def client_settings(self, tls: TlsMaterial | None = None) -> KafkaSettings:
        """Client settings that reach this cluster (secrets included: never print them)."""
        shape = self.shape
        host = "127.0.0.1" if shape.security == "plaintext" else "localhost"
        ports = (self.settings.kafka_port + 2 * i for i in range(shape.brokers))
        bootstrap = ",".join(f"{host}:{port}" for port in ports)
        if shape.security == "plaintext":
            return KafkaSettings(bootstrap=bootstrap)
        tls = tls or ensure_tls(self.settings.home)
        extra: dict[str, Any] = {}
        if shape.security == "sasl_ssl":
            extra = {
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": CLIENT_USER,
                "sasl_password": tls.client_password,
            }
        if shape.security == "ssl":  # the SSL listener requires a client certificate
            extra = {"ssl_cert_file": tls.client_cert, "ssl_key_file": tls.client_key}
        return KafkaSettings(
            bootstrap=bootstrap,
            security_protocol=shape.protocol,
            ssl_ca_file=tls.ca_file,
            **extra,
        )

    def _check_shape(self) -> None:
        old = KafkaCluster(self.settings).nodes
        formatted = any((n.data_dir / "meta.properties").exists() for n in old)
        if self.shape != self.recorded and (formatted or any(n.process.pid() for n in old)):
            raise ServiceError(
                f"{self.settings.home} holds a {self.recorded.brokers}-node "
                f"{self.recorded.security} Kafka; run `shotline dev down --purge` first "
                "or use another SHOTLINE_DEV_HOME"
            )

    def up(self) -> list[bool]:
        """Start every node that does not run, wait until all serve metadata, and write the
        client env file; per node, True if it was started."""
        self._check_shape()
        tls = self._tls()
        self.nodes = self._nodes(tls)
        # Every node of one cluster is formatted with the same id (a new node rejoins).
        cluster_id = _recorded_cluster_id(self.nodes) or new_cluster_id()
        format_args = scram_format_args(tls) if tls and self.shape.security == "sasl_ssl" else ()
        if self.shape != Shape():
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            shape = {"brokers": self.shape.brokers, "security": self.shape.security}
            self.state_file.write_text(json.dumps(shape))
        started = [node.start(cluster_id, format_args) for node in self.nodes]
        for node in self.nodes:
            node.wait_ready()
        self._write_client_env(tls)
        return started

    def _write_client_env(self, tls: TlsMaterial | None) -> None:
        kafka = self.client_settings(tls)
        lines = [f"SHOTLINE_KAFKA_BOOTSTRAP={kafka.bootstrap}"]
        lines.append(f"SHOTLINE_KAFKA_SECURITY_PROTOCOL={kafka.security_protocol}")
        if kafka.ssl_ca_file:
            lines.append(f"SHOTLINE_KAFKA_SSL_CA_FILE={kafka.ssl_ca_file}")
        if kafka.ssl_cert_file and kafka.ssl_key_file:
            lines.append(f"SHOTLINE_KAFKA_SSL_CERT_FILE={kafka.ssl_cert_file}")
            lines.append(f"SHOTLINE_KAFKA_SSL_KEY_FILE={kafka.ssl_key_file}")
        if kafka.sasl_mechanism and kafka.sasl_password:
            lines += [
                f"SHOTLINE_KAFKA_SASL_MECHANISM={kafka.sasl_mechanism}",
                f"SHOTLINE_KAFKA_SASL_USERNAME={kafka.sasl_username}",
                f"SHOTLINE_KAFKA_SASL_PASSWORD={kafka.sasl_password.get_secret_value()}",
            ]
        self.client_env.parent.mkdir(parents=True, exist_ok=True)
        self.client_env.touch(mode=0o600)
        self.client_env.chmod(0o600)
        self.client_env.write_text("\n".join(lines) + "\n")

    def down(self, purge: bool = False) -> list[bool]:
        """Stop every node at once (each gets a controlled shutdown); per node, True if it
        ran. ``purge`` also deletes data, TLS material, the shape and the client env."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            stopped = list(pool.map(lambda node: node.down(purge=purge), self.nodes))
        if purge:
            shutil.rmtree(self.settings.home / "tls", ignore_errors=True)
            self.state_file.unlink(missing_ok=True)
            self.client_env.unlink(missing_ok=True)
        return stopped

    def status(self) -> dict[str, Any]:
        """The ``dev status --json`` object of Kafka: shape, bootstrap and every node."""
        return {
            "brokers": self.shape.brokers,
            "security": self.shape.security,
            "bootstrap": ",".join(node.address for node in self.nodes),
            "client_env": str(self.client_env) if self.client_env.exists() else None,
            "nodes": [
                {
                    "id": node.node_id,
                    "pid": node.process.pid(),
                    "port": node.port,
                    "controller_port": node.controller_port,
                    "state": "running" if node.process.pid() else "stopped",
                    "log": str(node.process.log_file),
                }
                for node in self.nodes
            ],
        }


def _recorded_cluster_id(nodes: list[KafkaNode]) -> str | None:
    """The cluster id a formatted node already holds, so a re-formatted node rejoins it."""
    for node in nodes:
        meta = node.data_dir / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return None


def read_client_env(path: Path) -> dict[str, str]:
    """The ``KEY=value`` lines of a client env file (for tests and scripts)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}
