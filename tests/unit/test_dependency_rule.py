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


PACKAGES = ("schemas", "ingest", "processors", "shotline")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (a function-level import closes a cycle as
    surely as a top-level one when it runs), except those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Our modules and, for each, the modules of ours it imports by name. ``from a import b``
    counts as importing ``a.b`` when that is a module, else ``a`` (the package)."""
    paths = {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = name.split(".")
                    anchor = parts[: len(parts) - node.level + is_package]
                    base = ".".join([*anchor, base] if base else anchor)
                candidates = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base
                    for alias in node.names
                ]
            for candidate in candidates:
                while candidate and candidate not in paths:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycles_between_our_modules() -> None:
    assert find_cycles(import_graph()) == []


def test_the_cycle_finder_reports_a_cycle_closed_by_a_function_level_import() -> None:
    """The shape of the cycle the dev scaffolding once had: the CLI imports the dev CLI,
    which reaches topology, which imported the CLI inside a function."""
    source = "def has_verb():\n    from shotline.cli import app\n"
    [node] = _runtime_imports(ast.parse(source))
    assert isinstance(node, ast.ImportFrom)
    graph = {
        "shotline.cli": {"shotline.dev.cli"},
        "shotline.dev.cli": {"shotline.dev.run"},
        "shotline.dev.run": {"shotline.dev.topology", "schemas"},
        "shotline.dev.topology": {"shotline.cli"},
        "schemas": set(),
    }
    assert find_cycles(graph) == [
        ["shotline.cli", "shotline.dev.cli", "shotline.dev.run", "shotline.dev.topology"]
    ]


def test_type_checking_imports_are_not_runtime_edges() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import shotline.cli\n"
    assert [type(n) for n in _runtime_imports(ast.parse(source))] == [ast.ImportFrom]
