"""What a process and its children (uvicorn workers, say) cost: CPU seconds and resident
memory, read from ``/proc`` (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["tree_cpu_s", "tree_rss_mib"]


def _tree(pid: int) -> dict[int, list[str]]:
    """``/proc/<pid>/stat`` fields (after the command name) of ``pid`` and its live
    descendants (uvicorn workers)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree: dict[int, list[str]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            tree[current] = stats[current]
        todo.extend(children.get(current, []))
    return tree


def tree_cpu_s(pid: int) -> float:
    """User + system seconds of ``pid`` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum((int(f[11]) + int(f[12])) / ticks for f in _tree(pid).values())


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its live descendants, MiB."""
    pages = sum(int(f[21]) for f in _tree(pid).values())
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
