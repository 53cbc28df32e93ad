"""A kustomize renderer for the subset deploy/k8s uses, so the tests need no binary.

Supported kustomization fields: ``resources`` (YAML files and directories holding a
``kustomization.yaml``), ``namespace``, ``images`` (``name`` → ``newName``/``newTag``) and
``patches`` given inline as JSON6902 operations with a ``target`` of ``kind`` and ``name``
(a regular expression matched whole, as kustomize does). Anything else raises, so the
manifests cannot drift into features this renderer would silently ignore; ``kubectl apply
-k`` renders the same files identically.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

__all__ = ["render"]

Manifest = dict[str, Any]

_SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def render(directory: Path) -> list[Manifest]:
    """The manifests ``kustomize build directory`` would print (same subset, same order)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - _SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            manifests.extend(render(path))
        else:
            manifests.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in kustomization.get("patches", []):
        manifests = [_patch(m, patch, directory) for m in manifests]
    for image in kustomization.get("images", []):
        for manifest in manifests:
            _set_image(manifest, image)
    namespace = kustomization.get("namespace")
    if namespace:
        for manifest in manifests:
            if manifest["kind"] not in _CLUSTER_SCOPED:
                manifest.setdefault("metadata", {})["namespace"] = namespace
    return manifests


def _patch(manifest: Manifest, patch: dict[str, Any], directory: Path) -> Manifest:
    target = patch.get("target", {})
    if set(target) - {"kind", "name"} or set(patch) - {"target", "patch"}:
        raise ValueError(f"{directory}: only inline JSON6902 patches by kind/name: {patch}")
    if "kind" in target and manifest["kind"] != target["kind"]:
        return manifest
    if "name" in target and not re.fullmatch(target["name"], manifest["metadata"]["name"]):
        return manifest
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise ValueError(f"{directory}: a patch must be a list of JSON6902 operations")
    patched: Manifest = jsonpatch.apply_patch(copy.deepcopy(manifest), operations)
    return patched


def _set_image(node: Any, image: dict[str, str]) -> None:
    """Rewrite every container ``image`` named ``image['name']`` (any tag) in the tree."""
    if isinstance(node, dict):
        if "containers" in node or "initContainers" in node:
            for container in node.get("containers", []) + node.get("initContainers", []):
                name = re.split(r"[:@]", container.get("image", ""), maxsplit=1)[0]
                if name == image["name"]:
                    new = image.get("newName", image["name"])
                    tag = image.get("newTag")
                    container["image"] = f"{new}:{tag}" if tag else new
        for value in node.values():
            _set_image(value, image)
    elif isinstance(node, list):
        for value in node:
            _set_image(value, image)
