"""``shotline console``: serve the review console with uvicorn (one process: sessions and
the queue live in its memory)."""

from __future__ import annotations

import getpass
import logging
import sys

import typer
import uvicorn
from prometheus_client import start_http_server

from shotline.console.app import ConsoleApp
from shotline.console.auth import hash_password
from shotline.kafka_check import check_kafka
from shotline.settings import load_settings

__all__ = ["console"]


def _hash_password() -> None:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise typer.BadParameter("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise typer.BadParameter("use at least 8 characters")
    typer.echo(hash_password(password))


def console(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8070, help="Port to bind."),
    metrics_port: int = typer.Option(
        9106, help="Port of the console's Prometheus /metrics (0: none)."
    ),
    hash_password_: bool = typer.Option(
        False,
        "--hash-password",
        help="Read a password (prompted, or one line of stdin) and print its Argon2id hash "
        "for \\[console.reviewers.<name>] password_hash; then exit.",
    ),
    log_level: str = typer.Option("info", help="Log level."),
) -> None:
    """Serve the review console: moderators see flagged screenshots and decide.

    The queue holds the `review` and `block` verdicts of the last console.window_h hours
    (shotline.moderation.v1, joined with shotline.screenshots.enriched.v1 for thumbnail,
    channel and user). `confirm` or `overturn` (with a note) is published to
    shotline.moderation.decisions.v1 and leaves every open browser at once; overturning a
    `block` sends `unblock` to the project's action webhook when one is configured.

    Reviewers and their projects are in the config file (\\[console.reviewers.<name>],
    password_hash from --hash-password) or come from an SSO proxy (console.auth = "proxy").
    Every route but /healthz needs a session. Docs: docs/console.md.
    """
    if hash_password_:
        _hash_password()
        return
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = load_settings()
    if not settings.console.reviewers:
        typer.echo("warning: no reviewers configured ([console.reviewers.<name>])", err=True)
    if settings.console.cookie_secure and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            "note: session cookies are Secure: browsers keep them over HTTPS (put a TLS proxy "
            "in front) or on http://127.0.0.1 and http://localhost only",
            err=True,
        )
    check_kafka(settings.kafka)
    app = ConsoleApp(settings.console, settings.kafka, settings.projects)
    if metrics_port:
        start_http_server(metrics_port, addr=host, registry=app.metrics.registry)
    typer.echo(f"review console on http://{host}:{port}/", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=3,
    )
