"""``shotline dev up|down|status``: the local Kafka and S3 services, without Docker."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from schemas.extras import require_extra
from shotline.dev.kafka_cluster import DevSecurity, KafkaCluster
from shotline.dev.run import run
from shotline.dev.s3 import S3Server
from shotline.errors import ServiceError
from shotline.settings import load_settings

__all__ = ["app"]

app = typer.Typer(
    help="Local services: a real single-node Apache Kafka (KRaft) and an S3-compatible server.",
    no_args_is_help=True,
)
console = Console(stderr=True)
app.command("run")(run)


def _services(
    brokers: int | None = None, security: DevSecurity | None = None
) -> tuple[KafkaCluster, S3Server]:
    require_extra("dev", "moto", feature="shotline dev")
    dev = load_settings().dev
    return KafkaCluster(dev, brokers, security), S3Server(dev)


@app.command()
def up(
    brokers: int | None = typer.Option(
        None,
        "--brokers",
        min=1,
        max=9,
        help="KRaft nodes (combined roles). 3+: replication 3, min.insync.replicas 2. "
        "Default: what this home already has, else 1.",
    ),
    security: Annotated[
        DevSecurity | None,
        typer.Option(
            "--security",
            help="Client listener: plaintext (default), ssl, or sasl_ssl (SCRAM-SHA-512). "
            "Certificates and users are generated under the dev home; client settings are "
            "written to <home>/run/kafka-client.env (mode 600).",
        ),
    ] = None,
    s3: bool = typer.Option(True, "--s3/--no-s3", help="Also start the S3 server."),
) -> None:
    """Start Kafka on 127.0.0.1:9092 and S3 on 127.0.0.1:9000 unless they run; wait until ready.

    The first run resolves Kafka's jars from Maven Central into ~/.cache/shotline (cached)
    and formats the KRaft data dir; later runs reuse both. Safe to repeat, and recovers after
    a kill -9. Node N of a cluster listens on port 9092 + 2(N-1), its controller on
    9093 + 2(N-1).
    """
    kafka, s3_server = _services(brokers, security)
    try:
        with console.status("starting Kafka (first run downloads its jars)…"):
            started = kafka.up()
        for node, new in zip(kafka.nodes, started, strict=True):
            console.print(f"kafka  {'started' if new else 'running'}  {node.address}")
        if kafka.client_env.exists() and kafka.shape.security != "plaintext":
            console.print(f"client settings: {kafka.client_env}")
        if s3:
            new = s3_server.up()
            console.print(f"s3     {'started' if new else 'running'}  {s3_server.address}")
    except ServiceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command()
def down(
    purge: bool = typer.Option(False, "--purge", help="Also delete Kafka's data."),
) -> None:
    """Stop the local services cleanly (Kafka gets a controlled shutdown)."""
    kafka, s3 = _services()
    nodes = list(kafka.nodes)
    for node, stopped in zip(nodes, kafka.down(purge=purge), strict=True):
        console.print(f"kafka  {'stopped' if stopped else 'not running'}  {node.address}")
    console.print(f"s3     {'stopped' if s3.down() else 'not running'}")
    if purge:
        for node in nodes:
            console.print(f"purged {node.data_dir}")


@app.command()
def status(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing; exit 0 if all run."),
    as_json: bool = typer.Option(
        False, "--json", help="Print every Kafka node (id, pid, port, state) and S3 as JSON."
    ),
) -> None:
    """Say what runs where; exit 1 if any service is down."""
    kafka, s3 = _services()
    rows = [
        (f"kafka{'-' + str(n.node_id) if len(kafka.nodes) > 1 else ''}", n.process.pid(),
         n.address, n.process.log_file)
        for n in kafka.nodes
    ]  # fmt: skip
    rows.append(("s3", s3.process.pid(), s3.address, s3.process.log_file))
    if as_json:
        s3_pid = s3.process.pid()
        report: dict[str, Any] = {
            "kafka": kafka.status(),
            "s3": {"pid": s3_pid, "address": s3.address, "state": _state(s3_pid)},
        }
        typer.echo(json.dumps(report, indent=2))
    elif not quiet:
        for name, pid, address, log in rows:
            state = f"running pid {pid}" if pid else "stopped"
            console.print(f"{name:6} {state:18} {address}  log {log}", soft_wrap=True)
    if any(pid is None for _, pid, _, _ in rows):
        raise typer.Exit(1)


def _state(pid: int | None) -> str:
    return "running" if pid else "stopped"
