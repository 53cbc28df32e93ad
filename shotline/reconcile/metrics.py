"""``shotline_reconcile_*`` metrics of one run, in their own registry.

A reconcile run is a short batch job, so nothing scrapes it while it runs. Its metrics go
where a batch job's belong without a Pushgateway: ``--metrics-file PATH`` writes them in
the Prometheus text format, atomically, for node_exporter's textfile collector (or any
sidecar that serves a directory of such files); the same registry can be mounted on the
``/metrics`` of a long-running process that calls ``run_reconcile``. The human summary and
``--json`` print the same figures.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

__all__ = ["ReconcileMetrics"]


class ReconcileMetrics:
    """Labels: ``project`` (a configured project key) and, for skips, ``reason`` (the
    three values of ``window.Skip``): bounded."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        reg = self.registry
        self.listed = Counter(
            "shotline_reconcile_listed_objects_total",
            "Objects listed in the project's bucket for the range.",
            ["project"],
            registry=reg,
        )
        self.skipped = Counter(
            "shotline_reconcile_skipped_objects_total",
            "Listed objects that are not candidates, by reason.",
            ["project", "reason"],
            registry=reg,
        )
        self.seen = Counter(
            "shotline_reconcile_seen_objects_total",
            "Candidates already in shotline.screenshots.v1.",
            ["project"],
            registry=reg,
        )
        self.missing_callbacks = Counter(
            "shotline_reconcile_missing_callbacks_total",
            "Candidates that never reached shotline.screenshots.v1.",
            ["project"],
            registry=reg,
        )
        self.published = Counter(
            "shotline_reconcile_published_callbacks_total",
            "Callbacks published for missing ones (0 with --dry-run).",
            ["project"],
            registry=reg,
        )
        self.missing_objects = Counter(
            "shotline_reconcile_missing_objects_total",
            "Callbacks whose object does not exist (enrich's missing_object dead letters).",
            ["project"],
            registry=reg,
        )
        self.failures = Counter(
            "shotline_reconcile_failures_total",
            "Projects whose reconciliation failed (bucket or Kafka error).",
            ["project"],
            registry=reg,
        )
        self.duration = Gauge(
            "shotline_reconcile_duration_seconds", "Wall time of the last run.", registry=reg
        )
        self.last_success = Gauge(
            "shotline_reconcile_last_success_timestamp_seconds",
            "Unix time the last run without failures ended (alert when it is too old).",
            registry=reg,
        )

    def write(self, path: Path) -> None:
        """The registry in the text format, written atomically (temp file and rename)."""
        write_to_textfile(str(path), self.registry)
