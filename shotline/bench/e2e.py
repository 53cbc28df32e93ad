"""Scenario ``e2e``: the highest callback rate the whole pipeline sustains with lag <= 1 s.

The pipeline starts as ``make run`` starts it (every processor, then ingest, on free ports
and a fresh topic prefix). The simulator, in ``SENDERS`` processes of its own and without
uploads, sends at doubling rates, then once at 3/4 of the first failing rate. A step passes
when the senders reached 90 % of the asked rate, Agora lost nothing, and at least 99 % of
the acknowledged screenshots were in ``shotline.screenshots.v1`` (read_committed) within
1 s of ingest receiving them. The value is the best passing rate.

Baseline, same run: the same senders flat out against a no-op raw ASGI receiver, i.e. the
load generator's own ceiling on this machine; the ratio says how much of it the pipeline
keeps. Each step's note says why it failed: "sender short" means the senders could not keep
the rate, either because ingest answered too slowly for their connections or because the
shared cores were saturated; "late" means records took more than 1 s to come out.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas import KafkaSettings
from shotline.bench.model import Measurement
from shotline.bench.procs import tree_cpu_s
from shotline.dev.kafka_cluster import KafkaCluster
from shotline.dev.run import start_pipeline
from shotline.dev.s3 import S3Server
from shotline.dev.settings import DevSettings
from shotline.dev.topology import Layout, free_port_base, shotline_argv
from shotline.settings import load_settings
from shotline.topics import ensure_topics

__all__ = ["measure", "noop_app"]

LAG_S = 1.0
FIRST_RATE = 100.0
MAX_STEPS = 6
SENDERS = 1  # simulator processes (each about 1,900 callbacks/s flat out on one core here)
CONCURRENCY = 64  # per sender; Agora's deliveries are many and concurrent


async def noop_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The baseline receiver: reads the body, answers 200 JSON, does nothing else."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


def _simulate(
    url: str, rate: float, seconds: float, out: Path
) -> tuple[list[str], float, int, float]:
    """Run ``SENDERS`` simulator processes at ``rate`` in total; return the acknowledged
    requestIds, the rate they really sent at, how many Agora would have lost, and the
    senders' own CPU seconds."""
    # Their CPU: what this process's reaped children used meanwhile (the pipeline's stages
    # are reaped only at its end, so the senders are the only children reaped here).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs, files = [], []
    for index in range(SENDERS):
        acked, stats = out / f"acked-{index}.txt", out / f"stats-{index}.json"
        argv = [
            *shotline_argv(), "simulate", "--url", url, "--no-upload", "--quiet",
            "--rate", str(rate / SENDERS), "--duration", str(seconds),
            "--concurrency", str(CONCURRENCY), "--seed", str(index),
            "--acked-file", str(acked), "--stats-file", str(stats),
        ]  # fmt: skip
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        files.append((acked, stats))
    ids: list[str] = []
    sent, lost = 0.0, 0
    for proc, (acked, stats) in zip(procs, files, strict=True):
        proc.wait(seconds + 60)
        ids += acked.read_text().split()
        snap = orjson.loads(stats.read_bytes())
        sent += float(snap["planned"]) / float(snap["elapsed_s"])
        lost += int(snap["lost"])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sender_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return ids, sent, lost, sender_cpu


def _baseline(seconds: float, work: Path) -> float:
    port = free_port_base(1)
    argv = [
        sys.executable, "-m", "uvicorn", "shotline.bench.e2e:noop_app", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "error",
    ]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        _, sent, _, _ = _simulate(f"http://127.0.0.1:{port}/x", 1e6, seconds, work)
        return sent
    finally:
        server.terminate()
        server.wait(10)


async def _watch(kafka: KafkaSettings, arrivals: dict[str, float], ready: asyncio.Event) -> None:
    """Record, per requestId, seconds from ingest receiving it to reading it downstream."""
    consumer = AIOKafkaConsumer(
        kafka.topics.screenshots,
        **kafka.client_kwargs(),
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    ready.set()
    try:
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = time.time()
                for record in records:
                    value = orjson.loads(record.value)
                    received = datetime.fromisoformat(value["received_at"]).timestamp()
                    arrivals[value["request_id"]] = now - received
    finally:
        await consumer.stop()


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: tree_cpu_s(pid) for name, pid in pids.items()}


def _shares(before: dict[str, float], after: dict[str, float], wall_s: float) -> str:
    """Each process's CPU over a step, in % of one core, busiest first."""
    used = {name: (after[name] - before[name]) / wall_s * 100 for name in before}
    return ", ".join(
        f"{name} {pct:.0f}%" for name, pct in sorted(used.items(), key=lambda x: -x[1])
    )


async def _ramp(
    kafka: KafkaSettings, url: str, budget_s: float, work: Path, pids: dict[str, int]
) -> dict[str, str]:
    arrivals: dict[str, float] = {}
    ready = asyncio.Event()
    watcher = asyncio.create_task(_watch(kafka, arrivals, ready))
    await ready.wait()
    best, best_p99, best_cpu, notes = 0.0, float("nan"), "", []
    step_s = max(5.0, budget_s / 2)  # short steps are at the mercy of one GC pause or stall

    async def step(rate: float) -> bool:
        nonlocal best, best_p99, best_cpu
        cpu_before, started = _cpu(pids), time.monotonic()
        acked, achieved, lost, sender_cpu = await asyncio.to_thread(
            _simulate, url, rate, step_s, work
        )
        cpu_after = _cpu(pids) | {"simulator": sender_cpu}
        shares = _shares(cpu_before | {"simulator": 0.0}, cpu_after, time.monotonic() - started)
        await asyncio.sleep(LAG_S + 0.5)  # anything later than this is late anyway
        delays = sorted(arrivals.get(rid, float("inf")) for rid in acked)
        on_time = sum(d <= LAG_S for d in delays)
        p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))] if delays else 0.0
        reasons = [
            *(["nothing acked"] if not acked else []),
            *([f"{lost} lost"] if lost else []),
            *(["sender short"] if achieved < 0.9 * rate else []),
            *(["late"] if on_time < 0.99 * len(acked) else []),
        ]
        ok = not reasons
        verdict = "ok" if ok else "fail: " + ", ".join(reasons)
        notes.append(f"{rate:.0f}/s {verdict} (sent {achieved:.0f}/s, p99 {p99:.2f} s)")
        if ok and achieved > best:
            best, best_p99, best_cpu = achieved, p99, shares
        if not ok:
            notes[-1] += f" [CPU: {shares}]"
        return ok

    try:
        # Double until a step fails (at most MAX_STEPS), then try once halfway back.
        rate, failed = FIRST_RATE, None
        for _ in range(MAX_STEPS):
            if not await step(rate):
                failed = rate
                break
            rate *= 2
        if failed is not None and failed > FIRST_RATE:
            await step(failed * 0.75)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    return {
        "best": f"{best}",
        "p99": f"{best_p99:.3f}",
        "cpu": best_cpu,
        "steps": ", ".join(notes),
    }


async def _drop_topics(kafka: KafkaSettings) -> None:
    """Delete every topic of this run's prefix (processors may add their own), best effort."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(kafka.topic_prefix)]
        if names:
            await admin.delete_topics(names)
    except KafkaError:
        pass  # a leftover prefixed topic harms nobody
    finally:
        await admin.close()


def _service_pids(dev: DevSettings) -> dict[str, int]:
    """The local Kafka nodes' and S3 server's pids (``shotline dev up``): their CPU counts
    too (enrich's HeadObject calls land on the S3 server)."""
    nodes = KafkaCluster(dev).status()["nodes"]
    pids = {f"kafka node {n['id']}": int(n["pid"]) for n in nodes if n["pid"]}
    s3 = S3Server(dev).process.pid()
    return pids | ({"s3 server": s3} if s3 else {})


def measure(duration_s: float) -> Measurement:
    """Sustainable end-to-end rate (lag ≤ 1 s) against the generator's ceiling."""
    root = load_settings()
    kafka = root.kafka.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}."})
    asyncio.run(ensure_topics(kafka, kafka.topics.specs()))
    with tempfile.TemporaryDirectory(prefix="shotline-bench-e2e-") as tmp:
        work = Path(tmp)
        baseline = _baseline(max(3.0, duration_s / 4), work)
        layout = Layout(ingest_port=free_port_base(1), processor_base_port=free_port_base(6))
        s3 = f"http://127.0.0.1:{root.dev.s3_port}"  # in the config only: no uploads here
        pipeline, _ = start_pipeline(work / "run", kafka, layout, s3)
        try:
            with pipeline:
                pids = {name: proc.pid for name, proc in pipeline.procs.items()}
                pids |= _service_pids(root.dev)
                result = asyncio.run(_ramp(kafka, layout.callback_url, duration_s, work, pids))
        finally:
            asyncio.run(_drop_topics(kafka))
    return Measurement(
        scenario="e2e",
        unit="screenshots/s",
        value=float(result["best"]),
        baseline=baseline,
        baseline_name="simulator vs no-op receiver",
        extra={
            "p99 lag": f"{result['p99']} s",
            "CPU per process at the best rate (% of one core)": (result["cpu"]),
            "steps": result["steps"],
        },
    )
