"""Rendered Kubernetes manifests, once per session, for base and each overlay."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import Topics
from tests.unit.deploy.render import render

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / ".venv" / "bin"
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


# Processors the issues name that are not in processors/registry.py yet: their input topic.
# Once a processor is in BUILTINS its entry here is ignored and the code is asked instead.
NOT_YET_REGISTERED: dict[str, Callable[[Topics], str]] = {
    "enrich": lambda topics: topics.screenshots,
    "moderate": lambda topics: topics.enriched,
}


def tool(name: str) -> str:
    """A validator's executable: on PATH, or in the worktree's .venv (the dev extra)."""
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} missing: run make deploy-tools (make test does)")
    return found
