"""One line that says what a benchmark ran on: CPU, cores, memory, Python, Kafka; and how
fast the machine's cores run Python at the moment (the same machine is slower at times)."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

from shotline.dev.kafka import DEPLOY

__all__ = ["describe_machine", "kafka_version", "python_loop_ms"]


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _memory_gib(meminfo: Path = Path("/proc/meminfo")) -> str:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError):
        pass
    return "unknown RAM"


def kafka_version(pom: Path = DEPLOY / "pom.xml") -> str:
    """The Kafka version the local broker runs (pinned in ``deploy/kafka/pom.xml``)."""
    try:
        match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    except OSError:
        return "unknown"
    return match.group(1) if match else "unknown"


def describe_machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{_cpu_model()}, {cores} cores, {_memory_gib()}, "
        f"Python {platform.python_version()}, Apache Kafka {kafka_version()} "
        "(one KRaft node on the same machine)"
    )


def python_loop_ms(iterations: int = 3_000_000) -> float:
    """CPU milliseconds this process spends on a fixed Python loop: a gauge of how fast the
    cores run Python right now. On the shared development machine the time of such a loop,
    with nothing else running, moves by more than half from one hour to the next, and every
    stage's CPU per record moves with it (docs/performance.md, "End to end")."""
    started = time.process_time()
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return (time.process_time() - started) * 1000
