"""Rendered Kubernetes manifests, once per session, for base and each overlay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.deploy.render import render

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
# base plus every overlay directory: a new overlay is validated without editing the tests
VARIANTS = {"base": K8S / "base"} | {
    f"overlays/{d.name}": d for d in sorted((K8S / "overlays").iterdir()) if d.is_dir()
}


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(VARIANTS[request.param])


def of_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]
