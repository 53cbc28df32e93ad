"""The shape of a dev cluster, as properties and paths, without starting Java: the default
stays the single node it always was; three nodes get a quorum, replication 3 and min ISR 2;
a secured listener is advertised as ``localhost`` with TLS (and SCRAM) settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shotline.dev.kafka_cluster import KafkaCluster
from shotline.dev.kafka_tls import TlsMaterial, listener_properties
from shotline.dev.settings import DevSettings
from shotline.errors import ServiceError


def settings(home: Path) -> DevSettings:
    return DevSettings(home=home, kafka_port=19092, kafka_controller_port=19093)


def test_the_default_is_the_single_node_as_before(tmp_path: Path) -> None:
    cluster = KafkaCluster(settings(tmp_path))
    (node,) = cluster.nodes
    assert (node.address, node.controller_port) == ("127.0.0.1:19092", 19093)
    assert node.data_dir == tmp_path / "data" / "kafka"
    assert node.process.pid_file == tmp_path / "run" / "kafka.pid"
    assert node.overrides == ""  # deploy/kafka/server.properties, untouched


def test_three_nodes_form_a_quorum_with_replication_3_and_min_isr_2(tmp_path: Path) -> None:
    cluster = KafkaCluster(settings(tmp_path), brokers=3)
    assert [n.address for n in cluster.nodes] == [
        "127.0.0.1:19092", "127.0.0.1:19094", "127.0.0.1:19096",
    ]  # fmt: skip
    assert [n.data_dir.name for n in cluster.nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    props = dict(
        line.split("=", 1) for line in cluster.nodes[1].overrides.splitlines() if "=" in line
    )
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    for key in ("default.replication.factor", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor"):  # fmt: skip
        assert props[key] == "3"
    for key in ("min.insync.replicas", "transaction.state.log.min.isr"):
        assert props[key] == "2"
    assert cluster.client_settings().bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"


def test_sasl_ssl_listener_properties_name_keystore_truststore_and_scram(tmp_path: Path) -> None:
    tls = TlsMaterial(tmp_path, "ks-pw", "broker-pw", "client-pw")
    text = listener_properties("SASL_SSL", tls)
    assert f"ssl.keystore.location={tmp_path / 'broker.p12'}" in text
    assert f"ssl.truststore.location={tmp_path / 'ca.pem'}" in text
    assert "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512" in text
    assert 'username="broker" password="broker-pw"' in text
    assert "sasl." not in listener_properties("SSL", tls)


def test_a_home_with_another_shape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kafka-cluster.json").write_text(
        json.dumps({"brokers": 3, "security": "plaintext"})
    )
    (tmp_path / "data" / "kafka-1").mkdir(parents=True)
    (tmp_path / "data" / "kafka-1" / "meta.properties").write_text("cluster.id=abc\n")
    assert KafkaCluster(settings(tmp_path)).shape.brokers == 3  # status/down need no flags
    with pytest.raises(ServiceError, match="holds a 3-node plaintext Kafka"):
        KafkaCluster(settings(tmp_path), brokers=1).up()
