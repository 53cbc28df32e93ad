"""Prometheus metrics of the HTTP edge, one fresh registry per app.

Labels are bounded: HTTP status, a fixed reason vocabulary and the route template. Never a
requestId, project key, user or channel.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from ingest.fastmetrics import LoopCounter, LoopHistogram

__all__ = ["IngestMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class IngestMetrics:
    """Every metric the ingest exports; each app builds its own ``CollectorRegistry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        # From here on, metric declarations: alike in shape only, each its own name and help.
        # Touched on every request: the lock-free variants (see ingest.fastmetrics).
        self.requests = LoopCounter(
            "shotline_ingest_requests",
            "Callback requests answered, by HTTP status and reason.",
            ["status", "reason"],
            r,
        )
        self.rejected = Counter(
            "shotline_ingest_rejected_total",
            "Callbacks refused, by reason.",
            ["reason"],
            registry=r,
        )
        self.checksum_mismatch = Counter(
            "shotline_ingest_checksum_mismatch_total",
            "Checksum mismatches, by project mode (enforce rejects, log accepts).",
            ["mode"],
            registry=r,
        )
        self.unreadable_timestamps = Counter(
            "shotline_ingest_unreadable_timestamps_total",
            "Callbacks accepted whose 17-digit timestamp is not a real time, by where their "
            "time came from instead (object, received).",
            ["time_source"],
            registry=r,
        )
        self.request_latency = LoopHistogram(
            "shotline_ingest_request_duration_seconds",
            "Time from request start to response for the callback route.",
            _LATENCY_BUCKETS,
            r,
        )
        self.publish_latency = LoopHistogram(
            "shotline_ingest_publish_duration_seconds",
            "Time from send to broker ack or spool commit, by outcome (acked, spooled).",
            _LATENCY_BUCKETS,
            r,
            labels=["outcome"],
        )
        self.accepted = LoopCounter(
            "shotline_ingest_accepted",
            "Callbacks answered 200, by where they were made durable (kafka, spool).",
            ["via"],
            r,
        )
        self.spool_depth = Gauge(
            "shotline_ingest_spool_depth_records", "Records in the local spool.", registry=r
        )
        self.spool_bytes = Gauge(
            "shotline_ingest_spool_size_bytes", "Payload bytes in the local spool.", registry=r
        )
        self.spool_age = Gauge(
            "shotline_ingest_spool_oldest_age_seconds",
            "Age of the oldest spooled record (0 when empty).",
            registry=r,
        )
        self.spool_full = Gauge(
            "shotline_ingest_spool_full",
            "1 while the spool is full and callbacks get 503 (alert on it).",
            registry=r,
        )
        self.spool_commits = Counter(
            "shotline_ingest_spool_commits_total",
            "Group commits (one fsync each) written to the spool.",
            registry=r,
        )
        self.spool_corrupt = Counter(
            "shotline_ingest_spool_corrupt_total",
            "Spooled rows whose CRC did not match (dropped, never acknowledged intact).",
            registry=r,
        )
        self.spool_quarantined_total = Counter(
            "shotline_ingest_spool_quarantined_total",
            "Spooled records the broker refused for good, moved to the quarantine table.",
            registry=r,
        )
        self.spool_quarantined = Gauge(
            "shotline_ingest_spool_quarantined_records",
            "Records in the spool's quarantine table (alert when above 0).",
            registry=r,
        )
        self.drained = Counter(
            "shotline_ingest_drained_total",
            "Spooled records republished to Kafka and deleted.",
            registry=r,
        )
        self.producer_errors = Counter(
            "shotline_ingest_producer_errors_total",
            "Publish failures, by kind (timeout, kafka, not_started).",
            ["kind"],
            registry=r,
        )
        self.producer_recreated = Counter(
            "shotline_ingest_producer_recreated_total",
            "Producers closed and replaced after being stuck (aiokafka #1017).",
            registry=r,
        )
