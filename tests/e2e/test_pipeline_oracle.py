"""simulator → ingest → callbacks.v1 → dedupe → screenshots.v1 (→ metrics → usage).

The pipeline is started exactly as ``make run`` starts it (``shotline.dev.run``), on free
ports and a fresh topic prefix, and driven by a bounded simulator run with duplicates and
every fault. The oracle: every acknowledged requestId is in ``shotline.screenshots.v1``
exactly once (read_committed), nothing else is there, and the bill counts each once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from schemas import KafkaSettings
from shotline.dev.monitor import Monitor
from shotline.dev.pipeline import Pipeline
from shotline.dev.run import BUCKET, start_pipeline
from shotline.dev.topology import Layout, free_port_base, shotline_argv
from shotline.simulate import FaultRates, SimulateSettings, Stats
from shotline.simulate.cli import run as simulate
from tests.conftest import S3_ENDPOINT
from tests.e2e.oracle import count_ids, envelope_id, screenshot_id

pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.e2e, pytest.mark.slow]

FAULTS = FaultRates(
    duplicate=0.3,
    duplicate_max=3,
    bad_checksum=0.05,
    malformed=0.05,
    compact_timestamp=0.5,
    missing_object=0.03,
    dropped=0.03,
)


@pytest.fixture
def layout() -> Layout:
    return Layout(
        ingest_port=free_port_base(1),
        processor_base_port=free_port_base(6),
        project=f"e2e{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def pipeline(tmp_path: Path, kafka: KafkaSettings, layout: Layout) -> Iterator[Pipeline]:
    running, _ = start_pipeline(tmp_path, kafka, layout, S3_ENDPOINT)
    with running:
        yield running


def _usage(tmp_path: Path, kafka: KafkaSettings) -> list[dict[str, object]]:
    env = {
        **os.environ,
        "SHOTLINE_CONFIG": str(tmp_path / "shotline.toml"),
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
    }
    out = subprocess.run(
        [*shotline_argv(), "usage", "--json"], env=env, capture_output=True, check=True
    )
    data = orjson.loads(out.stdout)
    return data if isinstance(data, list) else [data]


async def _bill_images(tmp_path: Path, kafka: KafkaSettings, project: str, want: int) -> int:
    """Billable images of the project as ``shotline usage --json`` says, once it settles."""
    images = -1
    for _ in range(60):
        rows = await asyncio.to_thread(_usage, tmp_path, kafka)
        images = sum(int(str(r["billable_images"])) for r in rows if r.get("project") == project)
        if images == want:
            return images
        await asyncio.sleep(1)
    return images


@pytest.mark.timeout(180)
async def test_every_acknowledged_screenshot_comes_out_exactly_once(
    tmp_path: Path, kafka: KafkaSettings, layout: Layout, pipeline: Pipeline
) -> None:
    settings = SimulateSettings(
        url=layout.callback_url,
        project=layout.project,
        rate=150,
        count=400,
        concurrency=16,
        bucket=BUCKET,
        s3_endpoint=S3_ENDPOINT,
        prefix=f"e2e/{layout.project}",
        faults=FAULTS,
        seed=2026,
    )
    stats: Stats = await simulate(settings)
    acked, rejected, dropped = set(stats.acked), set(stats.rejected), set(stats.dropped)
    assert not stats.lost, "ingest failed Agora's delivery rules for valid callbacks"
    assert not stats.unexpected, "ingest acknowledged invalid callbacks"
    assert len(acked) > 300
    assert rejected
    assert dropped
    assert stats.duplicates_acked > 50
    assert stats.compact_timestamps > 100
    assert stats.missing_object > 0

    # The edge: every acknowledged callback is in callbacks.v1 (at least once), no invalid one.
    edge = await count_ids(kafka, kafka.topics.callbacks, envelope_id, acked, settle_s=0.5)
    assert acked <= set(edge)
    assert not (rejected | dropped) & set(edge)
    assert sum(edge.values()) >= len(acked) + stats.duplicates_acked

    out = await count_ids(kafka, kafka.topics.screenshots, screenshot_id, acked)
    missing = acked - set(out)
    doubled = {rid: n for rid, n in out.items() if n > 1}
    extra = set(out) - acked
    assert not missing, f"{len(missing)} acknowledged screenshots never came out"
    assert not doubled, f"{len(doubled)} screenshots came out more than once"
    assert not extra, f"{len(extra)} screenshots came out that were never acknowledged"

    # What `make run` shows: the same numbers, read from the stages' metrics endpoints.
    rows = {row.stage: row for row in Monitor(pipeline.stages).poll()}
    assert rows["ingest"].total == sum(edge.values())
    assert rows["dedupe"].total == sum(edge.values())
    dropped_duplicates = sum(edge.values()) - len(acked)
    assert f"duplicates dropped {dropped_duplicates:,}" in rows["dedupe"].notes

    # The bill is part of the oracle.
    images = await _bill_images(tmp_path, kafka, layout.project, len(acked))
    assert images == len(acked)
    notes = {row.stage: row for row in Monitor(pipeline.stages).poll()}["metrics"].notes
    assert f"billable images {len(acked):,}" in notes
    assert "bill so far $0.00" in notes  # inside the free 10,000 images
