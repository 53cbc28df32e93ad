"""Merging the workers' samples: sums, maxima, stale gauges left out."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ingest.metrics import IngestMetrics
from ingest.workermetrics import WorkerMetrics


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def _worker(value: int, depth: int, oldest: float) -> IngestMetrics:
    metrics = IngestMetrics()
    metrics.requests.labels(status="200", reason="ok").inc(value)
    metrics.rejected.labels(reason="checksum").inc(value)
    metrics.request_latency.observe(0.004 * value)
    metrics.spool_depth.set(depth)
    metrics.spool_age.set(oldest)
    return metrics


async def test_a_scrape_sums_counters_histograms_and_spool_depths(tmp_path: Path) -> None:
    one, two = _worker(3, 10, 5.0), _worker(4, 7, 9.0)
    sibling = WorkerMetrics(two.registry, tmp_path, slot=1)
    await sibling.start()
    await sibling.stop()
    me = WorkerMetrics(one.registry, tmp_path, slot=0)
    samples = _samples(me.exposition())
    ok = (("reason", "ok"), ("status", "200"))
    assert samples[("shotline_ingest_requests_total", ok)] == 7
    assert samples[("shotline_ingest_rejected_total", (("reason", "checksum"),))] == 7
    assert samples[("shotline_ingest_request_duration_seconds_count", ())] == 2
    assert samples[("shotline_ingest_spool_depth_records", ())] == 17
    assert samples[("shotline_ingest_spool_oldest_age_seconds", ())] == 9.0  # max, not sum
    assert not any(name.endswith("_created") for name, _ in samples)


async def test_a_gone_workers_counts_stay_but_its_gauges_do_not(tmp_path: Path) -> None:
    gone = WorkerMetrics(_worker(5, 100, 60.0).registry, tmp_path, slot=1, stale_after_s=10)
    gone.write()
    old = time.time() - 60
    os.utime(tmp_path / "worker-1.prom", (old, old))
    me = WorkerMetrics(_worker(1, 2, 1.0).registry, tmp_path, slot=0, stale_after_s=10)
    samples = _samples(me.exposition())
    assert samples[("shotline_ingest_requests_total", (("reason", "ok"), ("status", "200")))] == 6
    assert samples[("shotline_ingest_spool_depth_records", ())] == 2


def test_a_single_worker_exposition_is_its_own(tmp_path: Path) -> None:
    metrics = _worker(2, 1, 0.5)
    me = WorkerMetrics(metrics.registry, tmp_path, slot=0)
    mine = {k: v for k, v in _samples(generate_latest(metrics.registry)).items()}
    merged = _samples(me.exposition())
    assert merged == {k: v for k, v in mine.items() if not k[0].endswith("_created")}
