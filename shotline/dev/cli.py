"""``shotline dev up|down|status``: the local Kafka and S3 services, without Docker."""

from __future__ import annotations

import typer
from rich.console import Console

from shotline.dev.kafka import KafkaNode, ServiceError
from shotline.dev.run import run
from shotline.dev.s3 import S3Server
from shotline.settings import load_settings

__all__ = ["app"]

app = typer.Typer(
    help="Local services: a real single-node Apache Kafka (KRaft) and an S3-compatible server.",
    no_args_is_help=True,
)
console = Console(stderr=True)
app.command("run")(run)


def _services() -> tuple[KafkaNode, S3Server]:
    dev = load_settings().dev
    return KafkaNode(dev), S3Server(dev)


@app.command()
def up() -> None:
    """Start Kafka on 127.0.0.1:9092 and S3 on 127.0.0.1:9000 unless they run; wait until ready.

    The first run resolves Kafka's jars from Maven Central into ~/.cache/shotline (cached)
    and formats the KRaft data dir; later runs reuse both. Safe to repeat, and recovers after
    a kill -9.
    """
    kafka, s3 = _services()
    try:
        with console.status("starting Kafka (first run downloads its jars)…"):
            started = kafka.up()
        console.print(f"kafka  {'started' if started else 'running'}  {kafka.address}")
        started = s3.up()
        console.print(f"s3     {'started' if started else 'running'}  {s3.address}")
    except ServiceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command()
def down(
    purge: bool = typer.Option(False, "--purge", help="Also delete Kafka's data."),
) -> None:
    """Stop the local services cleanly (Kafka gets a controlled shutdown)."""
    kafka, s3 = _services()
    console.print(f"kafka  {'stopped' if kafka.down(purge=purge) else 'not running'}")
    console.print(f"s3     {'stopped' if s3.down() else 'not running'}")
    if purge:
        console.print(f"purged {kafka.data_dir}")


@app.command()
def status(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing; exit 0 if all run."),
) -> None:
    """Say what runs where; exit 1 if any service is down."""
    kafka, s3 = _services()
    rows = [
        ("kafka", kafka.process.pid(), kafka.address, kafka.process.log_file),
        ("s3", s3.process.pid(), s3.address, s3.process.log_file),
    ]
    if not quiet:
        for name, pid, address, log in rows:
            state = f"running pid {pid}" if pid else "stopped"
            console.print(f"{name:6} {state:18} {address}  log {log}", soft_wrap=True)
    if any(pid is None for _, pid, _, _ in rows):
        raise typer.Exit(1)
