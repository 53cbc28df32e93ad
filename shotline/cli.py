"""The ``shotline`` command: one verb per job, each wired in its own module.

This package is the composition root: it is the only place that imports both ``ingest`` and
``processors``, reads settings, and passes them down.
"""

from __future__ import annotations

import typer

from schemas.extras import MissingExtraError
from shotline.bench.cli import bench
from shotline.cli_errors import SETUP_ERRORS
from shotline.console_cmd import console
from shotline.dev.cli import app as dev_app
from shotline.ingest_cmd import ingest as ingest_cmd
from shotline.process_cmd import register as register_processor_verbs
from shotline.reconcile_cmd import reconcile
from shotline.s3events_cmd import s3_events
from shotline.simulate.cli import simulate
from shotline.topics import app as topics_app
from shotline.usage_cmd import usage

__all__ = ["app", "main"]

app = typer.Typer(
    name="shotline",
    help=(
        "Receive Agora video screenshot upload callbacks and turn them into deduplicated, "
        "enriched, billed and moderated records on Kafka."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dev_app, name="dev")
app.add_typer(topics_app, name="topics")
app.command("usage")(usage)
register_processor_verbs(app)
app.command("ingest")(ingest_cmd)
app.command("s3-events")(s3_events)
app.command()(simulate)
app.command()(bench)
app.command()(reconcile)
app.command()(console)


EXPECTED_ERRORS: tuple[type[Exception], ...] = (*SETUP_ERRORS, MissingExtraError)


def main() -> None:
    try:
        app()
    except EXPECTED_ERRORS as exc:  # expected: one clear line each, no traceback
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
