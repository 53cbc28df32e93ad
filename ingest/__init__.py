"""The HTTP edge: parse, verify, publish (or spool), answer 200 JSON."""

from ingest.app import IngestApp
from ingest.errors import IngestError, PublishError, SpoolFullError
from ingest.factory import create_app
from ingest.metrics import IngestMetrics
from ingest.publisher import KafkaPublisher, Publisher, Sent
from ingest.records import OutRecord
from ingest.service import IngestService
from ingest.settings import IngestSettings
from ingest.spool import Spool

__all__ = [
    "IngestApp",
    "IngestError",
    "IngestMetrics",
    "IngestService",
    "IngestSettings",
    "KafkaPublisher",
    "OutRecord",
    "PublishError",
    "Publisher",
    "Sent",
    "Spool",
    "SpoolFullError",
    "create_app",
]
