"""Prometheus metrics of the enrich processor (registered on the runner's registry).

Labels are bounded: ``project`` is a configured project key or ``other``; ``source``,
``outcome`` and ``reason`` are fixed sets."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["EnrichMetrics"]


# Metric declarations, alike in shape only: each has its own name, help and labels.
@dataclass(frozen=True)
class EnrichMetrics:
    enriched: Counter
    events: Counter
    heads: Counter
    missing: Counter
    no_bucket: Counter
    dead: Counter
    restored: Counter
    pending: Gauge
    indexed: Gauge

    @classmethod
    def create(cls, reg: CollectorRegistry) -> EnrichMetrics:
        return cls(
            enriched=Counter(
                "shotline_enrich_enriched_total",
                "Screenshots published enriched, by where the facts came from "
                "(event, head, none = no bucket or no parsable object name).",
                ["project", "source"],
                registry=reg,
            ),
            events=Counter(
                "shotline_enrich_events_total",
                "S3 event records read from the events topic (invalid = not an S3 event).",
                ["kind"],
                registry=reg,
            ),
            heads=Counter(
                "shotline_enrich_head_requests_total",
                "HeadObject calls by outcome (found, missing, denied, transient).",
                ["project", "outcome"],
                registry=reg,
            ),
            missing=Counter(
                "shotline_enrich_missing_total",
                "Screenshots whose object never appeared (dead-lettered missing_object): "
                "broken uploads or forged callbacks.",
                ["project"],
                registry=reg,
            ),
            no_bucket=Counter(
                "shotline_enrich_no_bucket_total",
                "Screenshots passed on with s3=null: project without a bucket, or an object "
                "name that did not parse.",
                ["project"],
                registry=reg,
            ),
            dead=Counter(
                "shotline_enrich_dead_lettered_total",
                "Screenshots enrich dead-lettered itself, by reason.",
                ["reason"],
                registry=reg,
            ),
            restored=Counter(
                "shotline_enrich_restored_total",
                "Input records handled again on assignment to rebuild the pending set.",
                registry=reg,
            ),
            pending=Gauge(
                "shotline_enrich_pending",
                "Screenshots waiting for their S3 event or a HeadObject.",
                registry=reg,
            ),
            indexed=Gauge(
                "shotline_enrich_indexed_events", "S3 events remembered for a join.", registry=reg
            ),
        )
