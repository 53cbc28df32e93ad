"""``shotline dev run`` (``make run``): the whole pipeline locally, fed by the simulator.

Starts the local services (unless they run), creates the topics, writes the demo project's
config, starts every processor and ingest as child processes, then the Agora simulator at a
modest rate with every fault switched on, and shows a live per-stage summary until Ctrl-C.
Ctrl-C stops the children in order and then the services this run started (none if they
were already up).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import time
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console
from rich.live import Live

from schemas import KafkaSettings
from shotline.console.auth import hash_password
from shotline.dev.kafka import KafkaNode
from shotline.dev.monitor import Monitor, render
from shotline.dev.pipeline import Pipeline, Stage
from shotline.dev.prometheus import PrometheusServer
from shotline.dev.s3 import S3Server
from shotline.dev.s3events import notify_bucket_to_queue
from shotline.dev.topology import (
    Layout,
    builtin_processors,
    console_stage,
    s3events_stage,
    shotline_argv,
    stages,
    write_config,
)
from shotline.errors import PipelineError, ServiceError
from shotline.settings import load_settings
from shotline.topics import ensure_topics

__all__ = ["run", "simulator_stage", "start_pipeline"]

console = Console(stderr=True)
BUCKET = "shotline-screenshots"
DEMO_REVIEWER = "demo"  # the console's reviewer of the demo project
# The local model checks ~30 images/s per core: a 10 % sample keeps up with the default rate.
# The simulator's plain grey screenshots score 0.04-0.15 "nsfw" on it; demo thresholds just
# above most of them flag a few (about one in seven sampled) so that the review console has
# something to show. Real projects keep the defaults (review_at 0.5, block_at 0.8).
MODERATION_TOML = (
    '[projects."{project}".moderation]\nproviders = ["local"]\nsample = {sample}\n'
    "review_at = 0.12\nblock_at = 0.14\n"
)


def simulator_stage(
    layout: Layout,
    run_dir: Path,
    rate: float,
    s3_endpoint: str = "http://127.0.0.1:9000",
    extra: tuple[str, ...] = (),
) -> Stage:
    """The simulator as a child process, with every fault on at a low rate. No id files:
    it may run for hours, and without them it keeps counts only."""
    argv = (
        *shotline_argv(), "simulate", "--url", layout.callback_url, "--project", layout.project,
        "--rate", str(rate), "--channels", "20", "--users", "5", "--bucket", BUCKET,
        "--s3-endpoint", s3_endpoint,
        "--duplicate-rate", "0.2", "--bad-checksum-rate", "0.02", "--malformed-rate", "0.02",
        "--compact-timestamp-rate", "0.5", "--missing-object-rate", "0.02",
        "--dropped-rate", "0.01", "--concurrency", "16", "--quiet",
        "--stats-file", str(run_dir / "simulator.json"),
        *extra,
    )  # fmt: skip
    return Stage("simulator", argv)


def start_pipeline(
    run_dir: Path,
    kafka: KafkaSettings,
    layout: Layout,
    s3_endpoint: str,
    moderation_sample: float = 0.1,
) -> tuple[Pipeline, list[Stage]]:
    """Write the config and start every processor, then ingest; wait until all are ready.

    The caller owns the returned ``Pipeline`` (stop it, or use it as a context manager).
    ``moderation_sample`` is the demo project's moderation sample (a fraction).
    """
    moderation = MODERATION_TOML.format(project=layout.project, sample=moderation_sample)
    config = write_config(run_dir / "shotline.toml", layout, BUCKET, s3_endpoint, moderation)
    env = {
        "SHOTLINE_CONFIG": str(config),
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "SHOTLINE_INGEST_SPOOL_DIR": str(run_dir / "spool"),
    }
    pipeline = Pipeline(run_dir, env)
    processors = builtin_processors()
    wanted = stages(layout, processors)
    queue = notify_bucket_to_queue(s3_endpoint, BUCKET, kafka.topic_prefix)  # the next port:
    wanted.insert(-1, s3events_stage(queue, layout, layout.processor_port(len(processors))))
    try:
        for stage in wanted:
            pipeline.start(stage)
        pipeline.wait_ready()
    except BaseException:
        pipeline.stop()
        raise
    return pipeline, wanted


def _prometheus(run_dir: Path, running: list[Stage], port: int) -> PrometheusServer | None:
    """A Prometheus scraping every stage, if Debian's binary is installed; else None."""
    if shutil.which("prometheus") is None:
        console.print("prometheus is not installed (make prometheus-tools); skipping it")
        return None
    targets = [s.metrics_url.split("/")[2] for s in running if s.metrics_url]
    server = PrometheusServer(run_dir / "prometheus", port, targets, interval_s=2.0)
    try:
        server.start()
    except ServiceError as exc:
        console.print(f"[yellow]prometheus not started:[/yellow] {exc}")
        return None
    return server


def _start_console(
    pipeline: Pipeline, run_dir: Path, layout: Layout, running: list[Stage]
) -> tuple[str, str]:
    """Start the review console with a demo reviewer of the demo project (a fresh random
    password each run, printed: it is a local demo) and every stage in its status panel.
    Returns the login."""
    password = secrets.token_urlsafe(9)
    targets = "".join(
        f"{json.dumps(s.name)} = {json.dumps(s.metrics_url)}\n" for s in running if s.metrics_url
    )
    text = (run_dir / "shotline.toml").read_text() + (
        f"\n[console.reviewers.{DEMO_REVIEWER}]\n"
        f"password_hash = {json.dumps(hash_password(password))}\n"
        f"projects = [{json.dumps(layout.project)}]\n"
        f"\n[console.status_targets]\n{targets}"
    )
    config = run_dir / "console.toml"
    config.write_text(text)
    # after the processors and the s3-events bridge: 9106 with the default ports, as
    # deploy/prometheus/prometheus.yml expects
    metrics_port = layout.processor_port(len(builtin_processors()) + 1)
    pipeline.start(console_stage(layout, metrics_port), env={"SHOTLINE_CONFIG": str(config)})
    pipeline.wait_ready()
    return DEMO_REVIEWER, password


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _exit(code: int | None) -> str:
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete: that is clean.
    return {0: "ok", -15: "ok, SIGTERM", None: "not started"}.get(code, f"exit {code}")


def _where_to_look(
    layout: Layout,
    running: list[Stage],
    run_dir: Path,
    prometheus: PrometheusServer | None,
    login: tuple[str, str] | None,
) -> None:
    console.print("[bold]where to look[/bold]")
    if prometheus is not None:
        query = "sum by (item) (shotline_metrics_cost_usd)"
        console.print(f"  prometheus {prometheus.url}/graph  (try: {query})")
    for stage in running:
        console.print(
            f"  {stage.name:9} metrics {stage.metrics_url}   log {run_dir}/{stage.name}.log"
        )
    if any(s.name == "ingest" for s in running):
        console.print(f"  callbacks  POST {layout.callback_url}")
        console.print(f"  OpenAPI    http://{layout.host}:{layout.ingest_port}/openapi.json")
    if login is not None:
        console.print(
            f"  console    http://{layout.host}:{layout.console_port}/  "
            f"(sign in as {login[0]!r}, password {login[1]!r}: a local demo reviewer)"
        )
        asyncapi = f"http://{layout.host}:{layout.console_port}/asyncapi"
        console.print(f"  AsyncAPI   {asyncapi}  (served offline by the console)")
    config = run_dir / "shotline.toml"
    usage = f"SHOTLINE_CONFIG={config} {' '.join(shotline_argv())} usage --project {layout.project}"
    console.print(f"  bill       {usage}")
    console.print("  Ctrl-C stops everything this run started")


def run(
    rate: float = typer.Option(
        100.0, min=0.1, help="Screenshots/s the simulator sends (the free 10,000 last ~100 s)."
    ),
    duration: float | None = typer.Option(None, min=1, help="Stop after this many seconds."),
    ingest_port: int = typer.Option(8080, help="Port of the ingest."),
    processor_port: int = typer.Option(9100, help="First metrics port of the processors."),
    project: str = typer.Option("demo", help="Project key of the demo project."),
    console_port: int = typer.Option(
        8070, help="Port of the review console (which serves the AsyncAPI document too)."
    ),
    docs_port: int | None = typer.Option(
        None,
        hidden=True,
        help="Ignored: the AsyncAPI page moved into the console (/asyncapi), offline.",
    ),
    prometheus_port: int = typer.Option(
        9090, help="Port of a local Prometheus scraping every stage (if it is installed)."
    ),
) -> None:
    """Run the whole pipeline locally, fed by the Agora simulator; Ctrl-C stops it."""
    # A SIGTERM (a supervisor, a CI timeout) stops everything as cleanly as Ctrl-C does;
    # the children run in their own sessions and would otherwise outlive this process.
    signal.signal(signal.SIGTERM, _interrupt)
    settings = load_settings()
    kafka_node, s3 = KafkaNode(settings.dev), S3Server(settings.dev)
    layout = Layout(
        ingest_port=ingest_port,
        processor_base_port=processor_port,
        project=project,
        console_port=console_port,
    )
    if docs_port is not None:
        console.print("--docs-port is ignored: the console serves the AsyncAPI document")
    run_dir = settings.dev.home / "run" / "pipeline"
    started: list[str] = []
    pipeline: Pipeline | None = None
    prometheus: PrometheusServer | None = None
    try:
        with console.status("starting Kafka and S3 (the first run downloads Kafka's jars)…"):
            if kafka_node.up():
                started.append("kafka")
            if s3.up():
                started.append("s3")
            asyncio.run(ensure_topics(settings.kafka, settings.kafka.topics.specs()))
        with console.status("starting ingest and processors…"):
            pipeline, running = start_pipeline(run_dir, settings.kafka, layout, s3.address)
        if not running:
            console.print("[yellow]no ingest and no processors are installed yet[/yellow]")
        prometheus = _prometheus(run_dir, running, prometheus_port)
        login = _start_console(pipeline, run_dir, layout, running)
        sim = simulator_stage(layout, run_dir, rate, s3.address)
        pipeline.start(sim)
        _where_to_look(layout, running, run_dir, prometheus, login)
        monitor = Monitor(running, sim_stats=run_dir / "simulator.json")
        ends = None if duration is None else time.monotonic() + duration
        warned = console_warned = False
        title = f"shotline pipeline  (topics prefix {settings.kafka.topic_prefix or 'none'})"
        with Live(render(monitor.poll(), title), console=console, refresh_per_second=2) as live:
            while ends is None or time.monotonic() < ends:
                time.sleep(1.0)
                live.update(render(monitor.poll(), title))
                dead = pipeline.dead()
                if "simulator" in dead and not warned:
                    warned = True
                    log = run_dir / "simulator.log"
                    console.print(f"[yellow]the simulator exited ({dead['simulator']}); see {log}")
                dead.pop("simulator", None)
                if "console" in dead and not console_warned:
                    console_warned = True
                    log = run_dir / "console.log"
                    console.print(f"[yellow]the console exited ({dead['console']}); see {log}")
                dead.pop("console", None)  # the pipeline runs without it
                if dead:
                    raise PipelineError(f"stage(s) exited: {dead}; see logs in {run_dir}")
    except KeyboardInterrupt:
        console.print("stopping…")
    except (ServiceError, PipelineError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        if pipeline is not None:
            codes = pipeline.stop()
            console.print("stopped " + ", ".join(f"{k} ({_exit(v)})" for k, v in codes.items()))
        if prometheus is not None:
            prometheus.stop()
        if "s3" in started:
            s3.down()
        if "kafka" in started:
            kafka_node.down()
        if started:
            console.print(f"stopped {', '.join(started)} (started by this run)")
