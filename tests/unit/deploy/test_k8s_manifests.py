"""Every rendered manifest is valid: core kinds by kubernetes-validate --strict (schemas
bundled in the wheel, offline), custom resources by the schemas in crd_schemas."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.unit.deploy.conftest import VARIANTS, tool
from tests.unit.deploy.crd_schemas import SCHEMAS
from tests.unit.deploy.render import render

# Kubernetes versions in upstream support (the three newest minors kubernetes-validate ships).
KUBERNETES_VERSIONS = ("1.35.0", "1.36.0", "1.37.0")


def _core(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] not in SCHEMAS]


def test_base_and_every_overlay_render() -> None:
    assert "base" in VARIANTS
    assert "overlays/production" in VARIANTS
    for directory in VARIANTS.values():
        kinds = {m["kind"] for m in render(directory)}
        assert {"StatefulSet", "Deployment", "ScaledObject", "KafkaTopic", "CronJob"} <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_manifests_pass_kubernetes_validate_strict(
    rendered: list[dict[str, Any]], version: str
) -> None:
    core = _core(rendered)
    assert len(core) >= 10
    for manifest in core:
        # raises ValidationError (or SchemaNotFoundError for a kind it does not know)
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_kubernetes_validate_cli_passes_the_rendered_core_manifests(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The same check as a user runs it: `kubernetes-validate --strict` on the rendered
    file (--quiet prints only warnings and failures)."""
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(_core(rendered)))
    result = subprocess.run(
        [tool("kubernetes-validate"), "-k", KUBERNETES_VERSIONS[-1], "--strict", "--quiet",
         str(path)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_strict_validation_rejects_an_unknown_field(rendered: list[dict[str, Any]]) -> None:
    """The check can fail: a misspelt container field is refused."""
    statefulset = copy.deepcopy(next(m for m in rendered if m["kind"] == "StatefulSet"))
    statefulset["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, KUBERNETES_VERSIONS[-1], strict=True)


def test_custom_resources_match_their_schemas(rendered: list[dict[str, Any]]) -> None:
    custom = [m for m in rendered if m["kind"] in SCHEMAS]
    assert {m["kind"] for m in custom} == set(SCHEMAS)
    for manifest in custom:
        jsonschema.validate(manifest, SCHEMAS[manifest["kind"]])


@pytest.mark.parametrize(
    ("kind", "breakage"),
    [
        ("ScaledObject", lambda m: m["spec"]["triggers"][0]["metadata"].update(lagThreshold=50)),
        ("ScaledObject", lambda m: m["spec"]["triggers"][0]["metadata"].pop("topic")),
        ("ScaledObject", lambda m: m["spec"]["triggers"][0]["metadata"].update(lagTreshold="5")),
        ("TriggerAuthentication", lambda m: m["spec"]["secretTargetRef"][0].pop("key")),
        ("KafkaTopic", lambda m: m["spec"].update(partitions="6")),
        ("KafkaTopic", lambda m: m["metadata"]["labels"].pop("strimzi.io/cluster")),
        ("ServiceMonitor", lambda m: m["spec"]["endpoints"][0].update(interval="15 seconds")),
    ],
)
def test_custom_resource_schemas_reject_what_the_operators_would(
    rendered: list[dict[str, Any]], kind: str, breakage: Any
) -> None:
    manifest = copy.deepcopy(next(m for m in rendered if m["kind"] == kind))
    breakage(manifest)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, SCHEMAS[kind])


def test_the_python_renderer_matches_kustomize_where_installed() -> None:
    """Parity with the real thing, when a kustomize binary is on PATH (not needed by
    `make test`; `go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1` builds one)."""
    kustomize = shutil.which("kustomize")
    if kustomize is None:
        pytest.skip("kustomize not on PATH: the Python renderer is the one the tests use")
    for directory in VARIANTS.values():
        out = subprocess.run(
            [kustomize, "build", str(directory)],
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout  # fmt: skip
        real = [doc for doc in yaml.safe_load_all(out) if doc]

        def key(m: dict[str, Any]) -> tuple[str, str]:
            return m["kind"], m["metadata"]["name"]

        assert sorted(real, key=key) == sorted(render(directory), key=key), directory
