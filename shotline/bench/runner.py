"""Discovers benchmark scenarios and runs them one after another.

A scenario is any module ``shotline/bench/<name>.py`` with a module-level
``measure(duration_s: float) -> Measurement``. Adding a stage means adding its module:
nothing here changes. A scenario that raises is reported as failed and the others still run.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import cast

import shotline.bench
from shotline.bench.model import Measurement

__all__ = ["ORDER", "Outcome", "discover", "run_scenarios"]

Measure = Callable[[float], Measurement]

# Pipeline order for the table; scenarios not listed follow alphabetically.
ORDER = ("ingest", "dedupe", "enrich", "metrics", "moderate", "e2e")


@dataclass(frozen=True)
class Outcome:
    """A scenario's measurement, or why it has none."""

    name: str
    measurement: Measurement | None
    error: str | None
    seconds: float


def discover(package: ModuleType = shotline.bench) -> dict[str, Measure]:
    """Every scenario module in ``package`` (``shotline.bench``), in table order."""
    found: dict[str, Measure] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        measure = getattr(module, "measure", None)
        if callable(measure):
            found[info.name] = cast(Measure, measure)

    def rank(name: str) -> tuple[int, str]:
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    return {name: found[name] for name in sorted(found, key=rank)}


def run_scenarios(
    scenarios: dict[str, Measure],
    duration_s: float,
    on_done: Callable[[Outcome], None] | None = None,
    names: Iterable[str] | None = None,
) -> list[Outcome]:
    """Run the named scenarios (all if ``names`` is None) in order; never stops early."""
    wanted = list(scenarios) if names is None else list(names)
    unknown = [name for name in wanted if name not in scenarios]
    if unknown:
        raise KeyError(f"unknown scenario(s) {unknown}; known: {sorted(scenarios)}")
    outcomes: list[Outcome] = []
    for name in wanted:
        started = time.monotonic()
        try:
            measurement: Measurement | None = scenarios[name](duration_s)
            error = None
        except Exception as exc:  # a broken scenario must not hide the others' results
            measurement = None
            error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        outcome = Outcome(name, measurement, error, time.monotonic() - started)
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return outcomes
