"""Resolving what ``shotline process NAME`` names: a built-in, or ``package.module:attr``.

A third-party processor plugs in by import path alone: the module must be importable
(installed, or on ``PYTHONPATH``) and the attribute must satisfy the ``Processor`` protocol.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from processors.errors import FatalError
from processors.runner.contract import Processor

__all__ = ["load_processor"]


def load_processor(spec: str, builtins: Mapping[str, str]) -> Processor[Any]:
    """The processor ``spec`` names (built-in name or ``module:attribute``)."""
    path = builtins.get(spec, spec)
    module_name, colon, attr = path.partition(":")
    if not colon or not module_name or not attr:
        known = ", ".join(sorted(builtins)) or "none"
        raise FatalError(
            f"unknown processor {spec!r}: use a built-in name ({known}) "
            "or an import path 'package.module:attribute'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FatalError(f"cannot import {module_name!r} for processor {spec!r}: {exc}") from exc
    try:
        obj = getattr(module, attr)
    except AttributeError as exc:
        raise FatalError(f"{module_name!r} has no attribute {attr!r}") from exc
    if not isinstance(obj, Processor):
        raise FatalError(f"{path} does not implement the Processor protocol")
    name = getattr(obj, "name", "")
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise FatalError(f"{path}: processor name {name!r} must be letters, digits, - or _")
    return obj
