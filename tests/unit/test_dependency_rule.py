"""The dependency rule: schemas imports none of ours; ingest and processors not each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "schemas": {"ingest", "processors", "shotline"},
    "ingest": {"processors", "shotline"},
    "processors": {"ingest", "shotline"},
}
# schemas is pure: no I/O or framework imports.
SCHEMAS_FORBIDDEN_THIRD_PARTY = {"aiokafka", "faststream", "boto3", "httpx", "prometheus_client"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_dependency_rule(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    banned = FORBIDDEN[package] | (SCHEMAS_FORBIDDEN_THIRD_PARTY if package == "schemas" else set())
    violations = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & banned) for path in files
    }
    assert {k: v for k, v in violations.items() if v} == {}
