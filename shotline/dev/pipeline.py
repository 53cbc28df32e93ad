"""The pipeline's processes — ingest and every processor — started, probed and stopped.

One piece of code for ``shotline dev run`` and the end-to-end test: each stage is a child
process running a ``shotline`` verb, configured only through the environment
(``SHOTLINE_*``) and a generated TOML file, with its output in ``<run_dir>/<stage>.log``.
Children get their own session, so a terminal's Ctrl-C reaches only the parent, which
stops them in order: the sender first, then the edge, then the processors, so in-flight
records drain downstream.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shotline.dev.probe import http_answers
from shotline.errors import PipelineError

__all__ = ["Pipeline", "Stage"]


@dataclass(frozen=True)
class Stage:
    """One child process. ``health_url`` answers < 500 once it is ready. ``defaults``: its
    own ``SHOTLINE_*`` settings, under the environment (a variable already set wins)."""

    name: str
    argv: tuple[str, ...]
    health_url: str | None = None
    metrics_url: str | None = None
    defaults: tuple[tuple[str, str], ...] = ()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Pipeline:
    """Child processes started in order and stopped in reverse order."""

    def __init__(self, run_dir: Path, env: Mapping[str, str]) -> None:
        self.run_dir = run_dir
        self.env = {**os.environ, **env}
        self.stages: list[Stage] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        run_dir.mkdir(parents=True, exist_ok=True)

    def log(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def start(self, stage: Stage, env: Mapping[str, str] | None = None) -> None:
        """Start ``stage`` with its defaults, the pipeline's environment over them, and
        ``env`` on top."""
        with self.log(stage.name).open("ab") as log:
            self.procs[stage.name] = subprocess.Popen(
                list(stage.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**dict(stage.defaults), **self.env, **(env or {})},
                start_new_session=True,
            )
        self.stages.append(stage)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Wait until every started stage with a health URL answers; raise if one dies."""
        deadline = time.monotonic() + timeout_s
        pending = [s for s in self.stages if s.health_url]
        while pending:
            for stage in list(pending):
                self._check_alive(stage.name)
                if stage.health_url and http_answers(stage.health_url, timeout_s=1.0):
                    pending.remove(stage)
            if pending and time.monotonic() > deadline:
                names = ", ".join(s.name for s in pending)
                raise PipelineError(f"not ready after {timeout_s:.0f} s: {names}")
            if pending:
                time.sleep(0.2)

    def _check_alive(self, name: str) -> None:
        code = self.procs[name].poll()
        if code is not None:
            raise PipelineError(
                f"{name} exited with {code}; log {self.log(name)}:\n{_tail(self.log(name))}"
            )

    def dead(self) -> dict[str, int]:
        """Stages that exited, with their exit codes."""
        return {
            name: code for name, proc in self.procs.items() if (code := proc.poll()) is not None
        }

    def stop_stage(self, name: str, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL. Returns the exit code."""
        proc = self.procs.get(name)
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def stop(self, timeout_s: float = 30.0) -> dict[str, int | None]:
        """Stop every stage, last started first (the sender before the edge before the
        processors), each with its own grace period."""
        codes: dict[str, int | None] = {}
        for stage in reversed(self.stages):
            codes[stage.name] = self.stop_stage(stage.name, timeout_s)
        return codes

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
