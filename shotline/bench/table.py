"""The benchmark table: markdown for docs/performance.md, and its splice between the markers."""

from __future__ import annotations

import math
from collections.abc import Sequence

from shotline.bench.runner import Outcome

__all__ = ["END", "START", "markdown_table", "splice"]

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def markdown_table(outcomes: Sequence[Outcome], machine: str, when: str, duration_s: float) -> str:
    """A markdown table of every outcome, headed by the machine and the date."""
    lines = [
        f"Measured {when} on {machine}; {duration_s:g} s per scenario, each against its "
        "baseline in the same run (higher is better; ratio = shotline / baseline).",
        "",
        "| scenario | shotline | baseline | ratio | unit | details |",
        "|---|---:|---:|---:|---|---|",
    ]
    for outcome in outcomes:
        m = outcome.measurement
        if m is None:
            lines.append(f"| {outcome.name} | failed | | | | {outcome.error or ''} |")
            continue
        details = "; ".join(f"{k} {v}" for k, v in m.extra.items())
        lines.append(
            f"| {m.scenario} | {_number(m.value)} | {_number(m.baseline)} "
            f"({m.baseline_name}) | {_number(m.ratio)}x | {m.unit} | {details} |"
        )
    return "\n".join(lines)


def splice(readme: str, table: str) -> str:
    """Replace what lies between the bench markers with ``table``; raise if they are missing."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the page has no {START} ... {END} block")
    return f"{readme[: start + len(START)]}\n{table}\n{readme[end:]}"
