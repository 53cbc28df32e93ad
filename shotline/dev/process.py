"""A detached background process tracked by a pid file: start, probe, stop.

The pid file is only trusted when ``/proc/<pid>/cmdline`` still carries the marker, so a
stale file left by ``kill -9`` (and a reused pid) never counts as running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BackgroundProcess"]


@dataclass(frozen=True)
class BackgroundProcess:
    name: str
    pid_file: Path
    log_file: Path
    marker: str  # a string that must appear in the process's command line

    def pid(self) -> int | None:
        """The running process's pid, or None if it is not running."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            return None
        state = _proc_state(pid)
        if self.marker.encode() not in cmdline or state in {"Z", "X", None}:
            return None
        return pid

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> int:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        # Between fork and exec the child's command line is still ours: wait for the exec.
        deadline = time.monotonic() + 10
        while self.pid() is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return proc.pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM, wait, then SIGKILL. Returns True if something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            _reap(pid)
            time.sleep(0.1)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _reap(pid: int) -> None:
    # A child of this process (started by `up` in the same run) must be reaped to vanish.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
