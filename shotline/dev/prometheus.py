"""A throw-away Prometheus server (Debian's ``prometheus`` binary) for tests and local runs.

It runs in the foreground of the caller's lifetime: ``start`` writes a config scraping the
given targets, launches the binary on a loopback port with its data in ``home``, and waits
for ``/-/ready``; ``query`` runs an instant PromQL query over the HTTP API; ``stop`` ends
only the process it started.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from shotline.errors import ServiceError

__all__ = ["PrometheusServer"]


class PrometheusServer:
    def __init__(self, home: Path, port: int, targets: list[str], interval_s: float = 1.0):
        self.home = home
        self.port = port
        self.targets = targets
        self.interval_s = interval_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> str:
        interval = f"{max(1, round(self.interval_s * 1000))}ms"
        targets = ", ".join(f'"{t}"' for t in self.targets)
        return (
            f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
            "scrape_configs:\n  - job_name: shotline\n"
            f"    static_configs:\n      - targets: [{targets}]\n"
        )

    def start(self, timeout_s: float = 30.0) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise ServiceError("prometheus is not on PATH: run make prometheus-tools")
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "prometheus.yml"
        config.write_text(self._config())
        argv = [
            binary, f"--config.file={config}", f"--storage.tsdb.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
        ]  # fmt: skip
        with (self.home / "prometheus.log").open("ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServiceError(f"prometheus exited; see {self.home / 'prometheus.log'}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServiceError(f"prometheus was not ready in {timeout_s} s")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of ``promql`` (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise ServiceError(f"query {promql!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._proc = None
