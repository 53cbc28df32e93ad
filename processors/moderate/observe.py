"""The moderation stage's Prometheus metrics, on the runner's registry. Labels are bounded:
``project`` is a configured project key (else ``other``), ``provider`` a configured name."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ModerationMetrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class ModerationMetrics:
    verdicts: Counter
    sampled_out: Counter
    latency: Histogram
    calls: Counter
    throttled_seconds: Counter
    breaker_state: Gauge
    webhook_calls: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ModerationMetrics:
        return cls(
            # Metric declarations, alike in shape only: each has its own name, help and labels.
            verdicts=Counter(
                "shotline_moderation_verdicts_total",
                "Verdicts published, by project, deciding provider ('none' when skipped).",
                ["project", "provider", "verdict"],
                registry=registry,
            ),
            sampled_out=Counter(
                "shotline_moderation_sampled_out_total",
                "Screenshots left out (sampled_out, channel_interval, not_configured, no_object).",
                ["project", "reason"],
                registry=registry,
            ),
            latency=Histogram(
                "shotline_moderation_provider_latency_seconds",
                "Duration of one provider call, by outcome.",
                ["provider", "outcome"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            calls=Counter(
                "shotline_moderation_provider_calls_total",
                "Provider calls by outcome (ok, status_429, status_5xx, timeout, garbage, "
                "transport, rejected).",
                ["provider", "outcome"],
                registry=registry,
            ),
            throttled_seconds=Counter(
                "shotline_moderation_throttled_seconds_total",
                "Seconds calls waited for the token bucket (rate) or a Retry-After.",
                ["provider", "cause"],
                registry=registry,
            ),
            breaker_state=Gauge(
                "shotline_moderation_breaker_state",
                "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
                ["provider"],
                registry=registry,
            ),
            webhook_calls=Counter(
                "shotline_moderation_webhook_calls_total",
                "Action webhook deliveries by outcome (ok, failed: attempts spent or refused).",
                ["project", "outcome"],
                registry=registry,
            ),
        )
