"""One reconcile run over one or more projects: list, compare, publish, report.

1. List each project's day folders for the range (``listing``) and keep the candidates
   (``window.classify``).
2. Scan ``shotline.screenshots.v1`` once for all candidates (``ledger.find_seen``).
3. Publish a callback for each candidate not seen (``callbacks``), unless ``dry_run``.
4. Read enrich's ``missing_object`` dead letters for the range (``ledger.missing_objects``).

A project whose bucket cannot be listed is reported with its error and the others go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from processors.objectstore import s3_client
from schemas import KafkaSettings, ProjectConfig
from shotline.errors import LedgerError, ListingError
from shotline.reconcile.callbacks import headers, reconciled_envelope
from shotline.reconcile.ledger import Outgoing, find_seen, missing_objects, new_traceparent, publish
from shotline.reconcile.listing import list_objects
from shotline.reconcile.metrics import ReconcileMetrics
from shotline.reconcile.window import Skip, TimeRange, classify, day_prefixes

__all__ = ["KEYS_SHOWN", "ProjectResult", "Reporter", "RunResult", "run_reconcile"]

KEYS_SHOWN = 1_000  # object names listed per project in the summary, at most


class Reporter:
    """Progress hooks (the CLI draws bars with them); these do nothing."""

    def listing(self, project: str, prefix: str, listed: int) -> None:
        """``listed`` objects so far under ``prefix``."""

    def scanning(self, read: int, total: int) -> None:
        """Records of shotline.screenshots.v1 read so far, of ``total``."""

    def publishing(self, project: str, done: int, total: int) -> None:
        """Callbacks of ``project`` acknowledged so far, of ``total``."""


@dataclass
class ProjectResult:
    project: str
    bucket: str
    prefixes: list[str]
    listed: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Skip})
    candidates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    published: int = 0
    missing_object_keys: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def seen(self) -> int:
        return len(self.candidates) - len(self.missing)

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "bucket": self.bucket,
            "prefixes": self.prefixes,
            "listed": self.listed,
            "skipped": self.skipped,
            "candidates": len(self.candidates),
            "seen": self.seen,
            "missing_callbacks": len(self.missing),
            "published": self.published,
            "missing_objects": len(self.missing_object_keys),
            "missing_callback_keys": self.missing[:KEYS_SHOWN],
            "missing_object_keys": self.missing_object_keys[:KEYS_SHOWN],
            "error": self.error,
        }


@dataclass
class RunResult:
    window: TimeRange
    grace_s: float
    dry_run: bool
    projects: list[ProjectResult]
    scanned: int = 0
    duration_s: float = 0.0
    error: str | None = None  # Kafka could not be read or written

    @property
    def failed(self) -> bool:
        return self.error is not None or any(p.error for p in self.projects)

    def total(self, name: str) -> int:
        return sum(int(p.as_json()[name]) for p in self.projects)

    def as_json(self) -> dict[str, Any]:
        names = ("listed", "seen", "missing_callbacks", "published", "missing_objects")
        skipped = {s.value: sum(p.skipped[s.value] for p in self.projects) for s in Skip}
        return {
            **{name: self.total(name) for name in names},
            "skipped": skipped,
            "duration_s": round(self.duration_s, 3),
            "since": self.window.since.isoformat(),
            "until": self.window.until.isoformat(),
            "grace_s": self.grace_s,
            "dry_run": self.dry_run,
            "screenshots_scanned": self.scanned,
            "error": self.error,
            "projects": [p.as_json() for p in self.projects],
        }


def _list_project(
    result: ProjectResult,
    project: ProjectConfig,
    window: TimeRange,
    settled: datetime,
    reporter: Reporter,
    client_factory: Callable[[ProjectConfig], Any],
) -> None:
    client = client_factory(project)
    for prefix in result.prefixes:
        for page in list_objects(client, result.bucket, prefix):
            result.listed += len(page)
            for obj in page:
                skip = classify(obj.key, obj.last_modified, window, settled)
                if skip is None:
                    result.candidates.append(obj.key)
                else:
                    result.skipped[skip.value] += 1
            reporter.listing(result.project, prefix, result.listed)


async def run_reconcile(
    kafka: KafkaSettings,
    projects: Mapping[str, ProjectConfig],
    window: TimeRange,
    *,
    grace_s: float,
    dry_run: bool,
    now: datetime,
    metrics: ReconcileMetrics,
    reporter: Reporter | None = None,
    client_factory: Callable[[ProjectConfig], Any] = s3_client,
) -> RunResult:
    """Reconcile ``projects`` (each with a bucket) over ``window``; never raises for a
    bucket or Kafka failure: they are in the result (``error`` fields)."""
    started = time.monotonic()
    report = reporter or Reporter()
    settled = now - timedelta(seconds=grace_s)
    results = [
        ProjectResult(key, str(cfg.bucket), day_prefixes(cfg.object_prefix, window))
        for key, cfg in projects.items()
    ]
    run = RunResult(window, grace_s, dry_run, results)
    for result in results:
        try:
            await asyncio.to_thread(
                _list_project,
                result,
                projects[result.project],
                window,
                settled,
                report,
                client_factory,
            )
        except ListingError as exc:
            result.error = str(exc)
            result.candidates.clear()
    try:
        await _compare_and_publish(kafka, projects, run, now, report)
    except LedgerError as exc:
        run.error = str(exc)
    run.duration_s = time.monotonic() - started
    _count(metrics, run)
    return run


async def _compare_and_publish(
    kafka: KafkaSettings,
    projects: Mapping[str, ProjectConfig],
    run: RunResult,
    now: datetime,
    report: Reporter,
) -> None:
    wanted = {key.encode() for r in run.projects for key in r.candidates}
    seen, run.scanned = await find_seen(kafka, wanted, run.window.since, report.scanning)
    for result in run.projects:
        result.missing = [key for key in result.candidates if key.encode() not in seen]
    lost = await missing_objects(
        kafka, [r.project for r in run.projects], run.window.since, run.window.until
    )
    for result in run.projects:
        result.missing_object_keys = lost.get(result.project, [])
    if run.dry_run:
        return
    for result in run.projects:
        project = projects[result.project]
        outgoing = [
            Outgoing(
                key.encode(),
                reconciled_envelope(result.project, project, result.bucket, key, now)
                .model_dump_json()
                .encode(),
                headers(result.project, new_traceparent()),
            )
            for key in result.missing
        ]

        def progress(done: int, total: int, name: str = result.project) -> None:
            report.publishing(name, done, total)

        result.published = await publish(kafka, outgoing, progress)


def _count(metrics: ReconcileMetrics, run: RunResult) -> None:
    for r in run.projects:
        metrics.listed.labels(r.project).inc(r.listed)
        for reason, count in r.skipped.items():
            metrics.skipped.labels(r.project, reason).inc(count)
        metrics.seen.labels(r.project).inc(r.seen)
        metrics.missing_callbacks.labels(r.project).inc(len(r.missing))
        metrics.published.labels(r.project).inc(r.published)
        metrics.missing_objects.labels(r.project).inc(len(r.missing_object_keys))
        if r.error or run.error:
            metrics.failures.labels(r.project).inc()
    metrics.duration.set(run.duration_s)
    if not run.failed:
        metrics.last_success.set(time.time())
