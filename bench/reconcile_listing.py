"""How fast ``shotline reconcile`` lists a bucket and scans ``shotline.screenshots.v1``.

Starts its own S3 server (moto in server mode, as ``shotline dev up`` runs it, in a
subprocess on a free port) whose bucket holds ``--objects`` Agora-named objects over two day
folders, put straight into its in-memory backend before it serves (100,000 PUTs over HTTP
take moto about 17 minutes on a shared 2-core machine, and would load the shared server).
Then times, three times each:

* listing: the reconciler's own ``list_objects`` + ``classify`` over both folders, under
  cProfile once to split the time between the HTTP round trips (server and socket),
  botocore's XML parsing, and shotline's classification;
* the scan: ``find_seen`` over a scratch topic holding one dedupe-shaped record per object
  (keyed by object name, ~900-byte values), i.e. what a run reads for that many screenshots.

Then stops its server and deletes the topics. Run:
``.venv/bin/python -m bench.reconcile_listing [--objects N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from processors.objectstore import s3_client
from schemas import KafkaSettings, ProjectConfig, compact_utc
from shotline.reconcile.ledger import find_seen
from shotline.reconcile.listing import list_objects
from shotline.reconcile.window import TimeRange, classify, day_prefixes
from shotline.topics import ensure_topics

DAY = datetime(2026, 11, 30, 12, tzinfo=UTC)


def names(count: int) -> list[str]:
    out = []
    for i in range(count):
        at = DAY + timedelta(milliseconds=i * (86_400_000 // count) * 2 // 2 + (i % 2) * 43_200_000)
        utc = compact_utc(at)
        out.append(
            f"bench/{utc[:8]}/{i:032x}_room_{i % 97}__uid_s_{i % 1000}__uid_e_video_{utc}.jpg"
        )
    return out


def serve(port: int, bucket: str, count: int) -> None:
    """The server subprocess: fill the backend, then serve until terminated."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_bucket(bucket, "us-east-1")
    for key in names(count):
        backend.put_object(bucket, key, b"\xff\xd8")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    while True:
        time.sleep(3600)


def start_server(bucket: str, count: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    argv = [sys.executable, "-m", "bench.reconcile_listing", "--serve", str(port), bucket]
    proc = subprocess.Popen([*argv, str(count)])
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
        except OSError:
            time.sleep(0.5)
            continue
        return proc, endpoint
    proc.terminate()
    raise RuntimeError("the bench S3 server did not start")


def list_all(client: Any, bucket: str, window: TimeRange) -> tuple[int, int]:
    listed = candidates = 0
    settled = datetime.now(UTC)
    for prefix in day_prefixes("bench", window):
        for page in list_objects(client, bucket, prefix):
            listed += len(page)
            for obj in page:
                candidates += classify(obj.key, obj.last_modified, window, settled) is None
    return listed, candidates


def profile_split(client: Any, bucket: str, window: TimeRange) -> dict[str, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    list_all(client, bucket, window)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = 0.0
    split = {"http (server + socket)": 0.0, "botocore XML parse": 0.0, "classify": 0.0}
    for (filename, _, func), row in stats.stats.items():  # type: ignore[attr-defined]
        cumulative = row[3]
        if func == "list_all":
            total = cumulative
        elif func == "_send" and "botocore/endpoint.py" in filename:
            split["http (server + socket)"] += cumulative
        elif func == "parse" and "botocore/parsers.py" in filename:
            split["botocore XML parse"] += cumulative
        elif func == "classify":
            split["classify"] += cumulative
    split["total (profiled)"] = total
    return split


async def fill_topic(kafka: KafkaSettings, keys: list[str]) -> None:
    await ensure_topics(kafka, kafka.topics.specs(partitions=3))
    producer = AIOKafkaProducer(**kafka.client_kwargs(), linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        pad = "x" * 700
        futures = [
            await producer.send(
                kafka.topics.screenshots,
                f'{{"project":"bench","callback":{{"object":"{k}"}},"pad":"{pad}"}}'.encode(),
                key=k.encode(),
            )
            for k in keys
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def drop_topics(kafka: KafkaSettings) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(kafka.topic_prefix)]
        await admin.delete_topics(names)
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--runs", type=int, default=3, help="Timed runs of each part.")
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "BUCKET", "COUNT"))
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], int(args.serve[2]))
        return
    bucket = f"bench-rec-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    server, endpoint = start_server(bucket, args.objects)
    print(
        f"S3 server {endpoint}: {args.objects:,} objects in {time.perf_counter() - started:.1f} s"
    )
    project = ProjectConfig(
        callback_addr="https://bench/cb",
        bucket=bucket,
        s3_endpoint=endpoint,
        s3_access_key="testing",  # type: ignore[arg-type]
        s3_secret_key="testing",  # type: ignore[arg-type]
        s3_addressing_style="path",
    )
    client = s3_client(project)
    window = TimeRange(DAY, DAY + timedelta(days=2))
    try:
        for run in range(args.runs):
            started = time.perf_counter()
            listed, candidates = list_all(client, bucket, window)
            took = time.perf_counter() - started
            print(
                f"list run {run + 1}: {listed:,} listed, {candidates:,} candidates in "
                f"{took:.2f} s = {listed / took:,.0f} objects/s"
            )
        for part, seconds in profile_split(client, bucket, window).items():
            print(f"  {part}: {seconds:.2f} s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    keys = names(args.objects)
    kafka = KafkaSettings(bootstrap=args.bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:6]}.")
    asyncio.run(fill_topic(kafka, keys))
    try:
        wanted = {k.encode() for k in keys}
        for run in range(args.runs):
            started = time.perf_counter()
            seen, read = asyncio.run(find_seen(kafka, wanted, DAY - timedelta(days=3650)))
            took = time.perf_counter() - started
            print(
                f"scan run {run + 1}: {read:,} records, {len(seen):,} seen in {took:.2f} s "
                f"= {read / took:,.0f} records/s"
            )
    finally:
        asyncio.run(drop_topics(kafka))


if __name__ == "__main__":
    main()
