"""Ingest benchmark: shotline's ingest against two baselines in ``bench/``, same broker, same
run, same load: the minimal receiver (``bench/minimal_app.py``: stdlib ``json``, no schema
model, shotline's ``linger_ms``), which is the headline ratio, and the receiver with one
pydantic validation (``bench/baseline_app.py``), kept for comparison with earlier tables.

Each server runs as its own process (one uvicorn worker, uvloop + httptools) publishing to
its own fresh topic on the configured Kafka. Load comes from wrk (C, Debian package) over
loopback with a fixed set of valid, checksummed callbacks; wrk's own CPU time is reported
so it can be shown not to be the bottleneck. CPU µs/request is the server process's
user+system time over the measured window divided by the requests it answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from aiokafka.admin import AIOKafkaAdminClient

from ingest.settings import IngestSettings
from schemas import KafkaSettings, checksum
from shotline.bench.model import Measurement
from shotline.bench.procs import tree_cpu_s, tree_rss_mib
from shotline.dev.topology import free_port
from shotline.settings import load_settings
from shotline.topics import ensure_topics

__all__ = ["measure"]

ROOT = Path(__file__).resolve().parents[2]
ADDR = "http://127.0.0.1/v1/callbacks/bench"
KEY = "bench"
OBJECT = (
    "shots/20250101/38f8e3cfdc474cd56fc1ceba380d7e1a_room_{n}__uid_s_{n}__uid_e_video_"
    "20250101120000123.jpg"
)
WRK_THREADS = 2
WRK_CONNECTIONS = 64


@dataclass(frozen=True)
class Run:
    """One wrk run against one server."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_200: int
    socket_errors: int
    server_cpu_s: float
    wrk_cpu_s: float
    rss_mib: float = 0.0  # the server's resident memory (all its processes) after the load

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / max(1, self.requests) * 1e6


def _write_bodies(path: Path, count: int) -> None:
    """``count`` distinct valid callbacks with correct checksums, one JSON per line."""
    lines = []
    for n in range(count):
        request_id, name = f"bench-{uuid.uuid4().hex}", OBJECT.format(n=n)
        body = {
            "requestId": request_id, "callbackParam": {"cname": f"room_{n}"},
            "callbackData": "", "checksum": checksum(ADDR, 200, name, request_id),
            "object": name, "code": 200, "msg": "Supervise complete",
            "channelName": f"room_{n}", "userId": str(n), "timestamp": 1735732800123,
        }  # fmt: skip
        lines.append(orjson.dumps(body))
    path.write_bytes(b"\n".join(lines) + b"\n")


def _wrk(url: str, bodies: Path, duration_s: float, server_pid: int) -> Run:
    argv = [
        "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(duration_s))}s",
        "--timeout", "5s", "-s", str(ROOT / "bench" / "callbacks.lua"), url,
        "--", str(bodies), f"/v1/callbacks/{KEY}",
    ]  # fmt: skip
    cpu_before = tree_cpu_s(server_pid)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu_after = tree_cpu_s(server_pid)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out}")
    requests, micros, p50, p99, non_200, socket_errors = (int(x) for x in line.split()[1:])
    cpu_s, wrk_cpu_s = cpu_after - cpu_before, usage.ru_utime + usage.ru_stime
    return Run(
        requests, micros / 1e6, p50 / 1e3, p99 / 1e3, non_200, socket_errors, cpu_s, wrk_cpu_s
    )


def _bench_one(
    name: str, argv: list[str], env: dict[str, str], work: Path, bodies: Path, duration_s: float
) -> Run:
    """Start one server, wait for it, warm it up, measure it, stop it (SIGTERM)."""
    with (work / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {work / name}.log")
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        _wrk(url, bodies, min(3.0, duration_s), proc.pid)  # warm-up
        run = dataclasses.replace(
            _wrk(url, bodies, duration_s, proc.pid), rss_mib=tree_rss_mib(proc.pid)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if run.non_200 or run.socket_errors:
        raise RuntimeError(f"{name}: {run.non_200} non-2xx and {run.socket_errors} socket errors")
    return run


async def _delete_topics(kafka: KafkaSettings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


def measure(duration_s: float, workers: int = 1) -> Measurement:
    """Run the baseline, then shotline's ingest, each with ``workers`` uvicorn workers under
    the same wrk load."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (make bench does it)")
    kafka_base = load_settings().kafka
    tag = uuid.uuid4().hex[:8]
    kafka_m = KafkaSettings(bootstrap=kafka_base.bootstrap, topic_prefix=f"benchm{tag}.")
    kafka_b = KafkaSettings(bootstrap=kafka_base.bootstrap, topic_prefix=f"benchb{tag}.")
    kafka_s = KafkaSettings(bootstrap=kafka_base.bootstrap, topic_prefix=f"benchs{tag}.")
    every = (kafka_m, kafka_b, kafka_s)
    for kafka in every:
        specs = [s for s in kafka.topics.specs(partitions=3) if s.name == kafka.topics.callbacks]
        asyncio.run(ensure_topics(kafka, specs))
    try:
        minimal, baseline, shotline = _all(kafka_m, kafka_b, kafka_s, duration_s, workers)
    finally:
        for kafka in every:
            asyncio.run(_delete_topics(kafka, [kafka.topics.callbacks]))
    return _measurement(minimal, baseline, shotline)


def _baseline(
    name: str, module: str, kafka: KafkaSettings, work: Path, duration_s: float, workers: int
) -> Run:
    uvicorn = [sys.executable, "-m", "uvicorn", "--loop", "uvloop", "--http", "httptools"]
    port = free_port()
    return _bench_one(
        name,
        [*uvicorn, "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         f"bench.{module}:app"],
        {"PORT": str(port), "BENCH_KAFKA_BOOTSTRAP": kafka.bootstrap,
         "BENCH_TOPIC": kafka.topics.callbacks, "BENCH_CALLBACK_ADDR": ADDR,
         "BENCH_LINGER_MS": str(IngestSettings().linger_ms)},
        work, work / "callbacks.jsonl", duration_s,
    )  # fmt: skip


def _all(
    kafka_m: KafkaSettings,
    kafka_b: KafkaSettings,
    kafka_s: KafkaSettings,
    duration_s: float,
    workers: int,
) -> tuple[Run, Run, Run]:
    with tempfile.TemporaryDirectory(prefix="shotline-bench-") as tmp:
        work = Path(tmp)
        bodies = work / "callbacks.jsonl"
        _write_bodies(bodies, 2000)
        config = work / "shotline.toml"
        config.write_text(f'[projects.{KEY}]\ncallback_addr = "{ADDR}"\n')
        s_port = free_port()
        minimal = _baseline("minimal", "minimal_app", kafka_m, work, duration_s, workers)
        baseline = _baseline("pydantic", "baseline_app", kafka_b, work, duration_s, workers)
        shotline = _bench_one(
            "shotline",
            [str(Path(sys.executable).parent / "shotline"), "ingest", "--port", str(s_port),
             "--workers", str(workers)],
            {"PORT": str(s_port), "SHOTLINE_CONFIG": str(config),
             "SHOTLINE_KAFKA_BOOTSTRAP": kafka_s.bootstrap,
             "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka_s.topic_prefix,
             "SHOTLINE_INGEST_SPOOL_DIR": str(work / "spool")},
            work, bodies, duration_s,
        )  # fmt: skip
    return minimal, baseline, shotline


def _measurement(minimal: Run, baseline: Run, shotline: Run) -> Measurement:
    """Headline: shotline against the minimal receiver; the pydantic receiver alongside."""
    extra = {
        "CPU µs/req ratio (shotline / minimal)": (
            f"{shotline.cpu_us_per_request / max(1e-9, minimal.cpu_us_per_request):.2f}"
        ),
        "ratio vs pydantic receiver": f"{shotline.rps / max(1e-9, baseline.rps):.2f}x",
        "pydantic receiver req/s": f"{baseline.rps:,.0f}",
    }
    for label, run in (("shotline", shotline), ("minimal", minimal), ("pydantic", baseline)):
        extra[f"{label} p50 ms"] = f"{run.p50_ms:.1f}"
        extra[f"{label} p99 ms"] = f"{run.p99_ms:.1f}"
        extra[f"{label} CPU µs/req"] = f"{run.cpu_us_per_request:.0f}"
        extra[f"{label} wrk CPU %"] = f"{100 * run.wrk_cpu_s / run.seconds:.0f}"
        extra[f"{label} RSS MiB after load"] = f"{run.rss_mib:.0f}"
    name = "minimal receiver: raw ASGI, json, md5, acks=all (bench/minimal_app.py)"
    return Measurement("ingest", "req/s", shotline.rps, minimal.rps, name, extra)


if __name__ == "__main__":  # python -m shotline.bench.ingest [seconds] [workers]
    result = measure(
        float(sys.argv[1]) if len(sys.argv) > 1 else 10.0,
        workers=int(sys.argv[2]) if len(sys.argv) > 2 else 1,
    )
    print(f"ingest: shotline {result.value:.0f} req/s, baseline {result.baseline:.0f} req/s, "
          f"ratio {result.ratio:.2f}")  # fmt: skip
    for key, value in result.extra.items():
        print(f"  {key}: {value}")
