"""The manifests agree with the code: consumer groups, input topics, partitions, topic specs,
Secret keys and the ingest shutdown budget are derived from shotline itself, not retyped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from ingest.settings import IngestSettings
from processors.registry import BUILTINS
from processors.runner import Context, load_processor
from schemas import KafkaSettings, ProjectConfig, Topics
from tests.unit.deploy.conftest import K8S, NOT_YET_REGISTERED, of_kind

Manifest = dict[str, Any]

# Created by the metrics processor itself (processors/metrics/client.py), not by
# `shotline topics create`: same partitions and replicas as usage.v1, a week of retention.
PARTIALS = "shotline.usage.partials.v1"
SECRET_ENV = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY")


def _env(manifests: list[Manifest]) -> dict[str, str]:
    (config,) = [
        m for m in of_kind(manifests, "ConfigMap") if m["metadata"]["name"] == "shotline-env"
    ]
    data: dict[str, str] = config["data"]
    return data


def _secret_env(manifests: list[Manifest]) -> set[str]:
    """The variables some container reads from a Secret (``valueFrom.secretKeyRef``)."""
    return {
        var["name"]
        for kind in ("Deployment", "Job", "CronJob")
        for m in of_kind(manifests, kind)
        for container in _containers(m)
        for var in container.get("env", [])
        if "secretKeyRef" in var.get("valueFrom", {})
    }


def _containers(manifest: Manifest) -> list[dict[str, Any]]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    containers: list[dict[str, Any]] = spec["template"]["spec"]["containers"]
    return containers


def _expected_processors(prefix: str) -> dict[str, tuple[str, str]]:
    """name → (consumer group, input topic), from the runner and each processor."""
    kafka = KafkaSettings(topic_prefix=prefix)
    ctx = Context(kafka=kafka, projects={}, registry=CollectorRegistry())
    expected = {}
    for name in BUILTINS:
        processor = load_processor(name, BUILTINS)
        expected[name] = (ctx.group_id(processor.name), processor.input_topic(kafka.topics))
    for name, topic in NOT_YET_REGISTERED.items():
        expected.setdefault(name, (ctx.group_id(name), topic(kafka.topics)))
    return expected


def test_every_processor_has_a_scaled_object_on_its_group_and_input_topic(
    rendered: list[Manifest],
) -> None:
    env = _env(rendered)
    expected = _expected_processors(env["SHOTLINE_KAFKA_TOPIC_PREFIX"])
    scaled = {m["spec"]["scaleTargetRef"]["name"]: m for m in of_kind(rendered, "ScaledObject")}
    assert set(scaled) == {f"shotline-{name}" for name in expected}
    deployments = {m["metadata"]["name"]: m for m in of_kind(rendered, "Deployment")}
    for name, (group, topic) in expected.items():
        (trigger,) = scaled[f"shotline-{name}"]["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == group, name
        assert trigger["metadata"]["topic"] == topic, name
        assert trigger["metadata"]["bootstrapServers"] == env["SHOTLINE_KAFKA_BOOTSTRAP"]
        (container,) = deployments[f"shotline-{name}"]["spec"]["template"]["spec"]["containers"]
        assert container["args"][:2] == ["process", name]
        port = int(container["args"][container["args"].index("--port") + 1])
        assert {"name": "metrics", "containerPort": port} in container["ports"]


def test_every_keda_metadata_value_is_a_quoted_string(rendered: list[Manifest]) -> None:
    for scaled in of_kind(rendered, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            bad = {k: v for k, v in trigger["metadata"].items() if not isinstance(v, str)}
            assert not bad, f"{scaled['metadata']['name']}: unquoted {bad}"


def test_max_replicas_never_exceed_the_input_topic_partitions(rendered: list[Manifest]) -> None:
    partitions = {
        m["spec"]["topicName"]: m["spec"]["partitions"] for m in of_kind(rendered, "KafkaTopic")
    }
    for scaled in of_kind(rendered, "ScaledObject"):
        (trigger,) = scaled["spec"]["triggers"]
        topic = trigger["metadata"]["topic"]
        assert topic in partitions, f"no KafkaTopic for {topic}"
        assert scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
        assert scaled["spec"]["maxReplicaCount"] <= partitions[topic], scaled["metadata"]["name"]


def test_kafka_topics_are_what_topics_create_makes(rendered: list[Manifest]) -> None:
    env = _env(rendered)
    topics = Topics(prefix=env["SHOTLINE_KAFKA_TOPIC_PREFIX"])
    found = {
        m["spec"]["topicName"]: (
            m["spec"]["partitions"],
            m["spec"]["replicas"],
            m["spec"]["config"],
        )
        for m in of_kind(rendered, "KafkaTopic")
    }
    partitions, replicas, _ = found[topics.callbacks]
    assert replicas == int(env["SHOTLINE_TOPICS_REPLICATION"])
    expected = {
        spec.name: (spec.partitions, spec.replication, spec.config)
        for spec in topics.specs(partitions=partitions, replication=replicas)
    }
    usage_partitions = expected[topics.usage][0]
    week = {"cleanup.policy": "delete", "retention.ms": str(7 * 86_400_000)}
    expected[f"{topics.prefix}{PARTIALS}"] = (usage_partitions, replicas, week)
    assert found == expected


def _secret_refs(node: Any) -> Iterator[tuple[str, str]]:
    """(secret name, key) of every secretKeyRef, secret volume item and KEDA secretTargetRef."""
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            yield node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]
        if "secretName" in node and "items" in node:
            yield from ((node["secretName"], item["key"]) for item in node["items"])
        for ref in node.get("secretTargetRef", []):
            yield ref["name"], ref["key"]
        for value in node.values():
            yield from _secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _secret_refs(value)


def _example_secrets() -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for path in sorted((K8S / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Secret":
                data = doc.get("stringData", {}) | doc.get("data", {})
                keys[doc["metadata"]["name"]] = set(data)
    return keys


def test_every_referenced_secret_key_exists_in_the_example_secret(rendered: list[Manifest]) -> None:
    examples = _example_secrets()
    refs = set(_secret_refs(rendered))
    assert len(refs) >= 5
    missing = {(name, key) for name, key in refs if key not in examples.get(name, set())}
    assert not missing
    unused = {(n, k) for n, keys in examples.items() for k in keys} - refs
    assert not unused, f"example keys nothing reads: {unused}"


def test_secrets_never_appear_as_literals(rendered: list[Manifest]) -> None:
    assert not of_kind(rendered, "Secret")

    def env_vars(node: Any) -> Iterator[Manifest]:
        if isinstance(node, dict):
            yield from (e for e in node.get("env", []) if isinstance(e, dict))
            for value in node.values():
                yield from env_vars(value)
        elif isinstance(node, list):
            for value in node:
                yield from env_vars(value)

    for var in env_vars(rendered):
        if SECRET_ENV.search(var["name"]):
            assert "value" not in var, var["name"]
            assert "secretKeyRef" in var["valueFrom"], var["name"]
    for name in _env(rendered):
        assert not SECRET_ENV.search(name), f"{name} in a ConfigMap"


def test_example_projects_file_is_a_valid_projects_table() -> None:
    import tomllib

    (secret,) = [
        doc
        for doc in yaml.safe_load_all(
            (K8S / "examples" / "shotline-secrets.example.yaml").read_text()
        )
        if doc
    ]
    table = tomllib.loads(secret["stringData"]["shotline.toml"])
    projects = {
        key: ProjectConfig.model_validate(value) for key, value in table["projects"].items()
    }
    assert projects


def _ingest(rendered: list[Manifest]) -> tuple[Manifest, Manifest]:
    (statefulset,) = of_kind(rendered, "StatefulSet")
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    return statefulset, container


def test_ingest_grace_outlasts_prestop_plus_the_shutdown_drain(rendered: list[Manifest]) -> None:
    statefulset, container = _ingest(rendered)
    env = _env(rendered)
    shutdown = float(
        env.get("SHOTLINE_INGEST_SHUTDOWN_TIMEOUT_S", IngestSettings().shutdown_timeout_s)
    )
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    grace = statefulset["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(command[1]) + shutdown


def test_ingest_probes_spool_and_security(rendered: list[Manifest]) -> None:
    statefulset, container = _ingest(rendered)
    assert container["args"][0] == "ingest"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    spool = _env(rendered)["SHOTLINE_INGEST_SPOOL_DIR"]
    claims = {t["metadata"]["name"] for t in statefulset["spec"]["volumeClaimTemplates"]}
    mounts = {v["mountPath"]: v["name"] for v in container["volumeMounts"]}
    assert mounts[spool] in claims
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert statefulset["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert {"limits", "requests"} <= set(container["resources"])


def test_every_workload_runs_non_root_with_a_read_only_root(rendered: list[Manifest]) -> None:
    pods = [
        m["spec"]["template"]["spec"]
        for m in rendered
        if m["kind"] in {"Deployment", "StatefulSet"}
    ]
    pods += [
        m["spec"]["jobTemplate"]["spec"]["template"]["spec"] for m in of_kind(rendered, "CronJob")
    ]
    assert len(pods) >= 7
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert {"limits", "requests"} <= set(container["resources"])


def test_reconcile_runs_every_fifteen_minutes_over_all_projects(rendered: list[Manifest]) -> None:
    (cron,) = of_kind(rendered, "CronJob")
    assert cron["spec"]["schedule"] == "*/15 * * * *"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["reconcile", "--all-projects", "--since=-2h"]


def test_configmap_settings_reach_the_settings_model(
    rendered: list[Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each variable naming a field of today's settings tree sets that field (a misspelt
    unit or field would be silently ignored by the environment source). Variables of units
    or fields still being built elsewhere (enrich, moderate, Kafka security) are checked
    here as soon as their fields exist."""
    from shotline.settings import Settings, load_settings

    known: dict[str, tuple[str, str, str]] = {}
    for name, value in _env(rendered).items():
        unit, _, field = name.removeprefix("SHOTLINE_").lower().partition("_")
        annotation = (
            Settings.model_fields[unit].annotation if unit in Settings.model_fields else None
        )
        if isinstance(annotation, type) and field in getattr(annotation, "model_fields", {}):
            known[name] = (unit, field, value)
    monkeypatch.delenv("SHOTLINE_CONFIG", raising=False)
    for name, (_, _, value) in known.items():
        monkeypatch.setenv(name, value)
    # What the containers read from the Secret (credentials the ConfigMap's SASL mechanism
    # needs) is set to a placeholder: its values are not in the repository.
    for name in _secret_env(rendered):
        monkeypatch.setenv(name, "from-the-secret")
    settings = load_settings()
    for name, (unit, field, value) in known.items():
        actual = getattr(getattr(settings, unit), field)
        assert str(actual) == value or actual == type(actual)(value), name
    assert len(known) >= 5


def test_the_console_runs_once_and_is_scraped(rendered: list[Manifest]) -> None:
    """Sessions live in the console's memory: exactly one replica, never two during an
    upgrade; its options are ones `shotline console` knows; a PodMonitor scrapes its port."""
    from typer.testing import CliRunner

    from shotline.cli import app

    (console,) = [
        m for m in of_kind(rendered, "Deployment") if m["metadata"]["name"].endswith("-console")
    ]
    assert console["spec"]["replicas"] == 1
    assert console["spec"]["strategy"]["type"] == "Recreate"
    (container,) = _containers(console)
    args = container["args"]
    assert args[0] == "console"
    help_text = CliRunner().invoke(app, ["console", "--help"], terminal_width=200).output
    for option in (a for a in args if a.startswith("--")):
        assert option in help_text, option
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == int(args[args.index("--metrics-port") + 1])
    assert ports["http"] == int(args[args.index("--port") + 1])
    labels = console["spec"]["template"]["metadata"]["labels"]
    monitors = [
        m
        for m in of_kind(rendered, "PodMonitor")
        if m["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ]
    assert [e["port"] for m in monitors for e in m["spec"]["podMetricsEndpoints"]] == ["metrics"]
