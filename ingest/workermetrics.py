"""One ``/metrics`` answer for every uvicorn worker: each scrape returns the sum over workers.

With ``--workers N`` the kernel hands each connection to one worker, so a scrape would see
that worker's counters only and rates would jump between scrapes. Each worker therefore
writes its registry's exposition to ``<spool_dir>/metrics/worker-<slot>.prom`` every
``interval_s`` (and once more at shutdown, atomically by rename), and whichever worker
answers a scrape merges its own live samples with its siblings' latest files:

- counters and histograms (and summaries) are summed, sample by sample;
- gauges are summed too (spool depth and bytes add up across workers), except the ones in
  ``MAX_GAUGES`` (oldest spooled record, spool full), where the largest is the truth;
- ``_created`` samples are left out: they differ per worker and a sum of them means
  nothing (the text format's parser also reads them back as gauges of their own).

A sibling's counters are up to ``interval_s`` old. The file of a worker that is gone stays, so
its counts stay in the totals (counters never drop because a worker exited); its gauges are
left out once the file is older than ``stale_after_s``. A worker that takes over a slot
starts its counters from zero: Prometheus treats that like any counter reset.

The request path is untouched: its lock-free counters are read only when a snapshot is
written. A single worker (the default) uses none of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["MAX_GAUGES", "WorkerMetrics", "merge_families"]

log = logging.getLogger("shotline.ingest")

MAX_GAUGES = frozenset({"shotline_ingest_spool_oldest_age_seconds", "shotline_ingest_spool_full"})

_Key = tuple[str, tuple[tuple[str, str], ...]]


def merge_families(sources: Iterable[tuple[Iterable[Metric], bool]]) -> list[Metric]:
    """Families with the same name merged across ``(families, fresh)`` sources; a stale
    source contributes everything but its gauges."""
    merged: dict[str, Metric] = {}
    values: dict[str, dict[_Key, float]] = {}
    for families, fresh in sources:
        for family in families:
            if family.name.endswith("_created") or (family.type == "gauge" and not fresh):
                continue
            target = merged.get(family.name)
            if target is None:
                target = merged[family.name] = Metric(
                    family.name, family.documentation, family.type, family.unit
                )
                values[family.name] = {}
            samples = values[family.name]
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                key = (sample.name, tuple(sorted(sample.labels.items())))
                old = samples.get(key)
                if old is None:
                    samples[key] = sample.value
                elif family.type == "gauge" and family.name in MAX_GAUGES:
                    samples[key] = max(old, sample.value)
                else:
                    samples[key] = old + sample.value
    for name, family in merged.items():
        for (sample_name, labels), value in values[name].items():
            family.add_sample(sample_name, dict(labels), value)
    return list(merged.values())


class _Merged:
    """A registry-shaped view for ``generate_latest``."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class WorkerMetrics:
    """Publishes this worker's samples and answers scrapes with every worker's sum."""

    def __init__(
        self,
        registry: CollectorRegistry,
        directory: Path,
        slot: int,
        interval_s: float = 1.0,
        stale_after_s: float = 10.0,
    ) -> None:
        # Arguments kept as attributes: the shape of any constructor, no logic to share.
        self.registry = registry
        self.directory = directory
        self.slot = slot
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self._own = directory / f"worker-{slot}.prom"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.write()
        self._task = asyncio.create_task(self._loop(), name="worker-metrics")

    # Cancel-and-await of a background task, alike in shape to other stops: an idiom, inline.
    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.write()  # the final counts of this worker stay in the totals

    def write(self) -> None:
        """This worker's exposition, replaced atomically."""
        temporary = self._own.with_suffix(f".tmp{os.getpid()}")
        temporary.write_bytes(generate_latest(self.registry))
        os.replace(temporary, self._own)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.write()
            except OSError as exc:  # a full disk must not stop the worker; scrapes go stale
                log.warning("cannot write worker metrics %s: %s", self._own, exc)

    def exposition(self) -> bytes:
        """The text a scrape gets: this worker live, its siblings from their files."""
        sources: list[tuple[Iterable[Metric], bool]] = [(self.registry.collect(), True)]
        now = time.time()
        for path in sorted(self.directory.glob("worker-*.prom")):
            if path == self._own:
                continue
            try:
                text = path.read_text()
                fresh = now - path.stat().st_mtime <= self.stale_after_s
            except OSError:  # replaced or removed meanwhile: the next scrape sees it
                continue
            sources.append((text_string_to_metric_families(text), fresh))
        return generate_latest(_Merged(merge_families(sources)))
