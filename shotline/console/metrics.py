"""The console's Prometheus metrics, in a registry of its own (served on ``--metrics-port``).
Labels are bounded: projects come from the configuration, never from a request."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["ConsoleMetrics"]


@dataclass(frozen=True)
class ConsoleMetrics:
    registry: CollectorRegistry
    decisions: Counter
    logins: Counter
    queue_items: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> ConsoleMetrics:
        registry = registry or CollectorRegistry()
        return cls(
            registry=registry,
            decisions=Counter(
                "shotline_console_decisions_total",
                "Reviewers' decisions published, by project, action and the verdict judged.",
                ["project", "action", "verdict"],
                registry=registry,
            ),
            logins=Counter(
                "shotline_console_logins_total",
                "Login attempts by outcome (ok, failed, limited).",
                ["outcome"],
                registry=registry,
            ),
            queue_items=Gauge(
                "shotline_console_flagged_screenshots",
                "Flagged screenshots held in the console's window (decided or not).",
                registry=registry,
            ),
        )
