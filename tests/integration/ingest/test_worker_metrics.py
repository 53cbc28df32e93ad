"""``shotline ingest --workers 3``: one scrape of ``/metrics`` counts every worker's requests."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import orjson
import pytest

from schemas import KafkaSettings
from tests.integration.ingest.conftest import KEY, IngestProcess, free_port
from tests.integration.ingest.test_ingest_process import HEADERS, environment
from tests.integration.ingest.test_publish import body

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

OK = re.compile(r'^shotline_ingest_requests_total\{reason="ok",status="200"\} (\S+)$', re.M)


def _ok_count(text: str) -> float:
    found = OK.search(text)
    return float(found.group(1)) if found else 0.0


def test_one_scrape_sums_the_requests_of_all_three_workers(
    kafka: KafkaSettings, tmp_path: Path, ingest_processes: list[IngestProcess]
) -> None:
    env = environment(kafka, tmp_path, kafka.bootstrap, SHOTLINE_INGEST_WORKERS="3")
    process = IngestProcess(env, free_port(), tmp_path / "ingest.log")
    ingest_processes.append(process)
    process.start()
    files = tmp_path / "spool" / "metrics"
    deadline = time.monotonic() + 30
    while len(list(files.glob("worker-*.prom"))) < 3:
        assert time.monotonic() < deadline, "three workers did not start"
        time.sleep(0.2)

    sent = 300
    for i in range(sent):  # a new connection each: the kernel spreads them over the workers
        answer = httpx.post(
            f"{process.url}/v1/callbacks/{KEY}",
            content=orjson.dumps(body(f"workers-{i}")),
            headers={**HEADERS, "connection": "close"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    own_counts: set[float] = set()
    for path in files.glob("worker-*.prom"):
        own_counts.add(_ok_count(path.read_text()))
    time.sleep(2.5)  # every worker's snapshot is at most 1 s old
    scrapes = [_ok_count(httpx.get(f"{process.url}/metrics", timeout=5).text) for _ in range(12)]
    assert scrapes == [float(sent)] * 12
    # the requests really were spread: no single worker answered them all
    per_worker = [_ok_count(p.read_text()) for p in files.glob("worker-*.prom")]
    assert sum(per_worker) == sent
    assert max(per_worker) < sent
    assert process.terminate() in (0, -15)
