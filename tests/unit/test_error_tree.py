"""One error tree: every exception our packages define descends from ``ShotlineError``, public
ones live in their package's ``errors`` module, and no two share a name."""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

from schemas.errors import ShotlineError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "ingest", "processors", "shotline")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _class_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


@functools.cache
def defined_exceptions() -> tuple[type[BaseException], ...]:
    """Every exception class defined at module level in our packages (imported for real, so
    inheritance through aliases and re-exports is resolved by Python, not guessed)."""
    found: list[type[BaseException]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            names = _class_names(path)
            if not names:
                continue
            module = importlib.import_module(_module_name(path))
            for name in names:
                cls = getattr(module, name)
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    found.append(cls)
    return tuple(found)


def test_the_walk_finds_the_errors_of_every_package() -> None:
    roots = {cls.__module__.split(".")[0] for cls in defined_exceptions()}
    assert roots == set(PACKAGES)


def test_every_exception_derives_from_shotline_error() -> None:
    strays = [
        f"{cls.__module__}.{cls.__name__}"
        for cls in defined_exceptions()
        if not issubclass(cls, ShotlineError)
    ]
    assert strays == []


def test_exception_names_are_unique() -> None:
    seen: dict[str, list[str]] = {}
    for cls in defined_exceptions():
        seen.setdefault(cls.__name__, []).append(cls.__module__)
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}


def test_public_exceptions_live_in_their_package_errors_module() -> None:
    misplaced = [
        f"{cls.__module__}.{cls.__name__}"
        for cls in defined_exceptions()
        if not cls.__name__.startswith("_")
        and cls.__module__ != f"{cls.__module__.split('.')[0]}.errors"
    ]
    assert misplaced == []


def test_errors_callers_catch_as_value_error_are_value_errors() -> None:
    from schemas.errors import ObjectNameError, TimestampError
    from shotline.errors import TimeSyntaxError

    for cls in (TimestampError, ObjectNameError, TimeSyntaxError):
        assert issubclass(cls, ShotlineError), cls
        assert issubclass(cls, ValueError), cls


def test_each_errors_module_draws_its_tree() -> None:
    """The module docstring names every public error it defines (the drawing)."""
    for package in PACKAGES:
        module = importlib.import_module(f"{package}.errors")
        drawing = module.__doc__ or ""
        public = [
            name
            for name in module.__all__
            if getattr(getattr(module, name), "__module__", None) == module.__name__
        ]
        assert public, package
        assert [name for name in public if name not in drawing] == [], package
