"""``shotline ingest``: serve the HTTP edge with uvicorn (httptools + uvloop, and the callback
lane of ``ingest.lane``).

Each worker process builds its own app from the environment and the ``SHOTLINE_CONFIG``
file (``build_app`` is uvicorn's factory), so workers share nothing but Kafka; each claims
its own spool slot. SIGTERM lets in-flight requests finish, then closes the spool cleanly.
"""

from __future__ import annotations

import gc
import logging
import os

import typer
import uvicorn

from ingest import IngestApp, create_app
from shotline.errors import KafkaUnreachable
from shotline.kafka_check import check_kafka
from shotline.settings import load_settings

__all__ = ["build_app", "ingest"]


def build_app() -> IngestApp:
    """uvicorn's app factory: settings are read here, in each worker, never at import."""
    settings = load_settings()
    return create_app(settings.ingest, settings.kafka, settings.projects, on_started=_tune_gc)


def _tune_gc() -> None:
    # Everything alive after startup (modules, pydantic schemas, the producer) lives as long as
    # the process: freezing it keeps the collector from rescanning it, and a larger young
    # generation means fewer collections on the request path. Measured: p99 and CPU/request
    # closer to the raw baseline (docs/performance.md, Ingest).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def ingest(
    host: str | None = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port to bind (default 8080)."),
    workers: int | None = typer.Option(None, min=1, help="Worker processes (default 1)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Receive Agora callbacks on POST /v1/callbacks/{key} and publish them to Kafka."""
    root = load_settings()
    settings = root.ingest
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if not root.projects:
        typer.echo("warning: no projects configured (SHOTLINE_CONFIG); every key is 404", err=True)
    try:
        check_kafka(root.kafka)  # bad credentials stop here; a broker that is down does not
    except KafkaUnreachable as exc:
        typer.echo(f"warning: {exc}; callbacks are spooled until it answers", err=True)
    count = workers or settings.workers
    # Each worker rebuilds its settings from the environment: tell them the real count.
    os.environ["SHOTLINE_INGEST_WORKERS"] = str(count)
    uvicorn.run(
        "shotline.ingest_cmd:build_app",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=count,
        loop="uvloop",
        http="ingest.lane:IngestProtocol",
        lifespan="on",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        backlog=4096,
    )
