"""Building an ingest app from settings: the one place that picks the real adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry

from ingest.app import IngestApp
from ingest.metrics import IngestMetrics
from ingest.publisher import KafkaPublisher, Publisher
from ingest.service import IngestService
from ingest.settings import IngestSettings
from schemas import KafkaSettings, ProjectConfig

__all__ = ["create_app"]


def create_app(
    settings: IngestSettings,
    kafka: KafkaSettings,
    projects: Mapping[str, ProjectConfig],
    *,
    publisher: Publisher | None = None,
    registry: CollectorRegistry | None = None,
    on_started: Callable[[], None] | None = None,
) -> IngestApp:
    """An app with a fresh metrics registry; ``publisher`` replaces Kafka in tests;
    ``on_started`` runs once the service is up (the CLI tunes the process there)."""
    metrics = IngestMetrics(registry)
    if publisher is None:
        publisher = KafkaPublisher(
            kafka.producer_kwargs(),
            metrics,
            linger_ms=settings.linger_ms,
            max_batch_bytes=settings.max_batch_bytes,
        )
    service = IngestService(settings, projects, kafka.topics, publisher, metrics)
    return IngestApp(service, on_started)
