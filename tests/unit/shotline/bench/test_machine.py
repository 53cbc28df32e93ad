"""The machine's state the e2e bench reports with each step: how busy the cores were (and
how much time the hypervisor took), how fast they ran Python, and what the Kafka node's JIT
compiler threads took."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from pathlib import Path

from shotline.bench.e2e import _loop_shares, _shares
from shotline.bench.machine import python_loop_ms
from shotline.bench.procs import (
    JIT_THREADS,
    MachineTimes,
    machine_times,
    main_thread_sched_s,
    threads_cpu_s,
)

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
    _burn(0.1)  # ten 10 ms ticks of one core, however fast the core runs Python
    later = machine_times()
    assert later.busy > first.busy
    assert later.idle >= first.idle
    assert later.steal >= first.steal
    assert "busy" in first.shares(later, 2)


def test_the_speed_gauge_takes_longer_for_more_iterations() -> None:
    short, long = python_loop_ms(100_000), python_loop_ms(1_000_000)
    assert 0 < short < long


def _burn(cpu_s: float) -> None:
    end = time.thread_time() + cpu_s
    while time.thread_time() < end:
        pass


def test_thread_cpu_counts_only_the_named_threads() -> None:
    """A thread named as HotSpot names its C2 compiler is counted; the main thread, which
    burns more, is not; a process that is gone counts nothing."""
    named = threading.Event()
    done = threading.Event()

    def compiler() -> None:
        # the kernel keeps 15 characters of "C2 CompilerThread0", as it does for the JVM's
        ctypes.CDLL(None).prctl(15, b"C2 CompilerThread0")  # PR_SET_NAME
        named.set()
        _burn(0.3)
        done.wait(10)  # stays alive (and listed) until read

    thread = threading.Thread(target=compiler)
    before = threads_cpu_s(os.getpid(), JIT_THREADS)
    thread.start()
    named.wait(10)
    _burn(0.6)
    while thread.is_alive() and threads_cpu_s(os.getpid(), JIT_THREADS) - before < 0.25:
        time.sleep(0.05)
    used = threads_cpu_s(os.getpid(), JIT_THREADS) - before
    other = threads_cpu_s(os.getpid(), ("no such thread",))
    done.set()
    thread.join()
    assert 0.25 <= used < 0.55
    assert other == 0
    assert threads_cpu_s(2**22 + 1, JIT_THREADS) == 0  # above Linux's largest pid


def test_a_kafka_nodes_jit_share_is_given_beside_its_own() -> None:
    shares = _shares({"kafka node 1": 4.0, "ingest": 5.0}, 10.0, {"kafka node 1": 1.2})
    assert shares == "ingest 50%, kafka node 1 40% (its JIT compiler 12%); total 90% of " + (
        f"{os.cpu_count()}00%"
    )


def test_the_main_threads_run_time_counts_its_own_work_only() -> None:
    """A busy other thread adds nothing to the main thread's run time; the main thread's own
    work does; a process that is gone reads as nothing."""
    before = main_thread_sched_s(os.getpid())
    thread = threading.Thread(target=_burn, args=(0.4,))
    thread.start()
    thread.join()
    mid = main_thread_sched_s(os.getpid())
    _burn(0.3)
    after = main_thread_sched_s(os.getpid())
    assert mid[0] - before[0] < 0.2
    assert 0.3 <= after[0] - mid[0] < 0.6
    assert after[1] >= before[1]  # time spent waiting for a core only grows
    assert main_thread_sched_s(2**22 + 1) == (0.0, 0.0)


def test_loop_shares_put_the_loop_that_wants_a_core_most_first() -> None:
    before = {"dedupe": (1.0, 0.0), "ingest": (2.0, 1.0)}
    after = {"dedupe": (3.0, 0.5), "ingest": (8.0, 5.0)}
    assert _loop_shares(before, after, 10.0) == "ingest 60/40%, dedupe 20/5%"
