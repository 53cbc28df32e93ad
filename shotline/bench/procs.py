"""What a process and its children (uvicorn workers, say) cost: CPU seconds and resident
memory; and how busy the whole machine's cores were. Read from ``/proc`` (Linux)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "JIT_THREADS",
    "MachineTimes",
    "machine_times",
    "threads_cpu_s",
    "tree_cpu_s",
    "tree_rss_mib",
]

# HotSpot's JIT compiler threads, as the kernel names them (the first 15 characters).
JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")


def _stat_fields(stat: Path) -> list[str]:
    """A ``/proc/.../stat`` file's fields after the command name (which may hold spaces or
    parentheses); ``OSError`` if the process or thread is gone."""
    return stat.read_text().rsplit(")", 1)[1].split()


def _cpu_s(fields: list[str]) -> float:
    """User + system seconds from a ``stat`` file's fields."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> dict[int, list[str]]:
    """``/proc/<pid>/stat`` fields (after the command name) of ``pid`` and its live
    descendants (uvicorn workers)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat_fields(entry / "stat")
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
    return sum(_cpu_s(fields) for fields in _tree(pid).values())


def threads_cpu_s(pid: int, names: tuple[str, ...]) -> float:
    """User + system seconds of ``pid``'s live threads whose name starts with one of
    ``names`` (0 for a process that is gone)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "comm").read_text().startswith(names):
                total += _cpu_s(_stat_fields(task / "stat"))
        except OSError:
            continue  # the thread ended
    return total


def main_thread_sched_s(pid: int) -> tuple[float, float]:
    """Seconds ``pid``'s main thread (an asyncio stage's event loop) has run on a core and
    has waited on a run queue, runnable but not running (``schedstat``; 0s once gone)."""
    try:
        run_ns, wait_ns, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its live descendants, MiB."""
    pages = sum(int(f[21]) for f in _tree(pid).values())
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(frozen=True)
class MachineTimes:
    """The machine's CPU time since boot, in clock ticks summed over its cores
    (``/proc/stat``): ``busy`` is user, nice, system, irq and softirq time; ``steal`` is
    time the hypervisor ran something else while a core of this machine wanted to run."""

    busy: int
    idle: int  # idle and iowait
    steal: int

    def shares(self, later: MachineTimes, cores: int) -> str:
        """Busy and stolen time from this reading to ``later``, in % of one core."""
        busy, steal = later.busy - self.busy, later.steal - self.steal
        total = busy + steal + later.idle - self.idle
        if total <= 0:
            return "the machine's cores: no time passed"
        scale = 100 * cores / total
        return (
            f"the machine's cores busy {busy * scale:.0f}% of {cores}00% "
            f"(stolen {steal * scale:.0f}%)"
        )


def machine_times(stat: Path = Path("/proc/stat")) -> MachineTimes:
    """The ``cpu`` line of ``/proc/stat``: user nice system idle iowait irq softirq steal."""
    fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
    return MachineTimes(user + nice + system + irq + softirq, idle + iowait, steal)
