"""Per-processor Prometheus metrics, registered in the app's own ``CollectorRegistry``.

Labels are bounded: processor name, a failure kind or reason from a fixed set, and the
input partition number.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["RunnerMetrics"]


class RunnerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # Metric declarations, alike in shape only: each has its own name, help and labels.
        self.processed = Counter(
            "shotline_processor_records_processed_total",
            "Input records handled and committed (not dead-lettered).",
            ["processor"],
            registry=registry,
        )
        self.emitted = Counter(
            "shotline_processor_records_emitted_total",
            "Records published by processors (excluding the DLQ).",
            ["processor"],
            registry=registry,
        )
        self.failed = Counter(
            "shotline_processor_handle_failures_total",
            "Failed handle attempts (kind: retriable, unexpected, publish).",
            ["processor", "kind"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "shotline_processor_records_dead_lettered_total",
            "Records sent to the DLQ (reason: invalid, rejected, retries_exhausted).",
            ["processor", "reason"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "shotline_processor_batch_duration_seconds",
            "Time from a partition batch's arrival to its commit.",
            ["processor"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.lag = Gauge(
            "shotline_processor_consumer_lag_records",
            "Records between the committed position and the partition's end.",
            ["processor", "partition"],
            registry=registry,
        )
        self.assigned = Gauge(
            "shotline_processor_assigned_partitions",
            "Input partitions this instance owns.",
            ["processor"],
            registry=registry,
        )
        self.paused = Gauge(
            "shotline_processor_paused_partitions",
            "Input partitions held back now (Backpressure, or output that did not publish).",
            ["processor"],
            registry=registry,
        )
        self.transactions = Counter(
            "shotline_processor_transactions_total",
            "Kafka transactions of an exactly-once processor (one per poll with records), "
            "by outcome: committed, or aborted (nothing of it visible).",
            ["processor", "outcome"],
            registry=registry,
        )
        self.paused_seconds = Counter(
            "shotline_processor_paused_seconds_total",
            "Seconds input partitions were held back, summed over partitions, by reason "
            "(the processor's Backpressure reason, or publish).",
            ["processor", "reason"],
            registry=registry,
        )
