"""The machine's state the e2e bench reports with each step: how busy the cores were (and
how much time the hypervisor took), and how fast they ran Python."""

from __future__ import annotations

from pathlib import Path

from shotline.bench.machine import python_loop_ms
from shotline.bench.procs import MachineTimes, machine_times

STAT = """cpu  {user} 10 {system} {idle} 5 0 {softirq} {steal} 0 0
cpu0 1 2 3 4 5 6 7 8 0 0
intr 12345
"""


def _stat(tmp_path: Path, **fields: int) -> Path:
    path = tmp_path / "stat"
    path.write_text(STAT.format(**fields))
    return path


def test_the_cpu_line_is_split_into_busy_idle_and_stolen(tmp_path: Path) -> None:
    times = machine_times(_stat(tmp_path, user=1000, system=300, idle=700, softirq=40, steal=9))
    assert times == MachineTimes(busy=1000 + 10 + 300 + 0 + 40, idle=700 + 5, steal=9)


def test_shares_are_in_percent_of_one_core(tmp_path: Path) -> None:
    before = MachineTimes(busy=1_000, idle=5_000, steal=100)
    # 2 cores for 10 s at 100 ticks/s: 2,000 ticks; 1,800 busy, 60 stolen, 140 idle
    after = MachineTimes(busy=2_800, idle=5_140, steal=160)
    assert before.shares(after, 2) == "the machine's cores busy 180% of 200% (stolen 6%)"
    assert before.shares(before, 2) == "the machine's cores: no time passed"


def test_this_machines_stat_reads_and_moves_forward() -> None:
    first = machine_times()
    python_loop_ms(200_000)
    later = machine_times()
    assert later.busy > first.busy
    assert later.idle >= first.idle
    assert later.steal >= first.steal
    assert "busy" in first.shares(later, 2)


def test_the_speed_gauge_takes_longer_for_more_iterations() -> None:
    short, long = python_loop_ms(100_000), python_loop_ms(1_000_000)
    assert 0 < short < long
