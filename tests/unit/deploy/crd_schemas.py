"""JSON schemas of the custom resources deploy/k8s uses, for the fields shotline sets.

kubernetes-validate bundles only the core kinds, so ScaledObject and TriggerAuthentication
(KEDA, keda.sh/v1alpha1), KafkaTopic (Strimzi, kafka.strimzi.io/v1) and ServiceMonitor /
PodMonitor (Prometheus Operator, monitoring.coreos.com/v1) are checked against these. Types
follow the operators' CRDs (KEDA types every trigger metadata value as a string); objects
are closed (``additionalProperties: false``) so a field outside this checked subset, or a
misspelt one, fails instead of passing unvalidated. Key sets come from the operators'
sources: KEDA ``pkg/scalers/kafka_scaler.go``, Strimzi ``KafkaTopicSpec``, Prometheus
Operator ``Endpoint``/``PodMetricsEndpoint``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMAS"]

Schema = dict[str, Any]

_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_INT32 = {"type": "integer", "minimum": 0, "maximum": 2147483647}
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}

# KEDA kafka trigger metadata keys (kafka_scaler.go); auth parameters of its
# TriggerAuthentication (parseKafkaAuthParams).
_KAFKA_METADATA_KEYS = [
    "bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
    "offsetResetPolicy", "allowIdleConsumers", "excludePersistentLag",
    "scaleToZeroOnInvalidOffset", "limitToPartitionsWithLag",
    "ensureEvenDistributionOfPartitions", "partitionLimitation", "version", "sasl", "tls",
    "unsafeSsl", "awsRegion",
]  # fmt: skip
SASL_MECHANISMS = "none plaintext scram_sha256 scram_sha512 oauthbearer gssapi aws_msk_iam"
_SASL = SASL_MECHANISMS.split()
_KAFKA_AUTH_PARAMETERS = ["sasl", "username", "password", "tls", "ca", "cert", "key", "keyPassword"]


def _resource(api_version: str, kind: str, spec: Schema, labels: Schema = _STRING_MAP) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": _NAME,
                    "namespace": _NAME,
                    "labels": labels,
                    "annotations": _STRING_MAP,
                },
            },
            "spec": spec,
        },
    }


def _closed(required: list[str], **properties: Any) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


_KAFKA_TRIGGER = _closed(
    ["type", "metadata"],
    type={"const": "kafka"},
    name={"type": "string"},
    metricType={"enum": ["AverageValue", "Value", "Utilization"]},
    metadata={
        "type": "object",
        "required": ["bootstrapServers", "consumerGroup", "topic", "lagThreshold"],
        "propertyNames": {"enum": _KAFKA_METADATA_KEYS},
        "additionalProperties": {"type": "string"},
        # every value a string (the CRD's additionalProperties: string), some enumerated
        "properties": {
            "offsetResetPolicy": {"enum": ["earliest", "latest"]},
            "allowIdleConsumers": {"enum": ["true", "false"]},
            "sasl": {"enum": _SASL},
            "tls": {"enum": ["enable", "disable"]},
            "lagThreshold": {"type": "string", "pattern": "^[0-9]+$"},
            "activationLagThreshold": {"type": "string", "pattern": "^[0-9]+$"},
        },
    },
    authenticationRef=_closed(
        ["name"],
        name={"type": "string"},
        kind={"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]},
    ),
)

SCALED_OBJECT = _resource(
    "keda.sh/v1alpha1",
    "ScaledObject",
    _closed(
        ["scaleTargetRef", "triggers"],
        scaleTargetRef=_closed(
            ["name"],
            name={"type": "string"},
            apiVersion={"type": "string"},
            kind={"type": "string"},
        ),
        pollingInterval=_INT32,
        cooldownPeriod=_INT32,
        minReplicaCount=_INT32,
        maxReplicaCount=_INT32,
        advanced=_closed(
            [],
            restoreToOriginalReplicaCount={"type": "boolean"},
            horizontalPodAutoscalerConfig=_closed(
                [], name={"type": "string"}, behavior={"type": "object"}
            ),
        ),
        triggers={"type": "array", "minItems": 1, "items": _KAFKA_TRIGGER},
    ),
)

TRIGGER_AUTHENTICATION = _resource(
    "keda.sh/v1alpha1",
    "TriggerAuthentication",
    _closed(
        ["secretTargetRef"],
        secretTargetRef={
            "type": "array",
            "minItems": 1,
            "items": _closed(
                ["parameter", "name", "key"],
                parameter={"enum": _KAFKA_AUTH_PARAMETERS},
                name=_NAME,
                key={"type": "string", "minLength": 1},
            ),
        },
    ),
)

KAFKA_TOPIC = _resource(
    "kafka.strimzi.io/v1",
    "KafkaTopic",
    _closed(
        ["partitions", "replicas"],
        topicName={"type": "string", "pattern": r"^[a-zA-Z0-9._-]{1,249}$"},
        partitions={"type": "integer", "minimum": 1},
        replicas={"type": "integer", "minimum": 1, "maximum": 32767},
        config={
            "type": "object",
            "additionalProperties": {"type": ["string", "integer", "boolean"]},
        },
    ),
    labels={
        "type": "object",
        "required": ["strimzi.io/cluster"],
        "additionalProperties": {"type": "string"},
    },
)

_SCRAPE_ENDPOINT = _closed(
    ["port"],
    port={"type": "string"},
    path={"type": "string"},
    interval=_DURATION,
    scrapeTimeout=_DURATION,
)
_SELECTOR = _closed(["matchLabels"], matchLabels=_STRING_MAP)


def _monitor(kind: str, endpoints_field: str) -> Schema:
    """ServiceMonitor and PodMonitor differ only in the name of their endpoint list."""
    endpoints = {"type": "array", "minItems": 1, "items": _SCRAPE_ENDPOINT}
    spec = _closed(["selector", endpoints_field], selector=_SELECTOR)
    spec["properties"][endpoints_field] = endpoints
    return _resource("monitoring.coreos.com/v1", kind, spec)


SERVICE_MONITOR = _monitor("ServiceMonitor", "endpoints")
POD_MONITOR = _monitor("PodMonitor", "podMetricsEndpoints")

SCHEMAS: dict[str, Schema] = {
    "ScaledObject": SCALED_OBJECT,
    "TriggerAuthentication": TRIGGER_AUTHENTICATION,
    "KafkaTopic": KAFKA_TOPIC,
    "ServiceMonitor": SERVICE_MONITOR,
    "PodMonitor": POD_MONITOR,
}
