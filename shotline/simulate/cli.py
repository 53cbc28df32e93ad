"""``shotline simulate``: behave like Agora towards a callback receiver.

Wires settings to the engine, shows progress with rich, and writes the oracle's files:
``--acked-file`` (requestIds acknowledged with 200 + JSON), ``--dropped-file`` (uploaded,
never notified) and ``--rejected-file`` (invalid on purpose and refused), one per line;
``--dropped-bodies-file`` holds the dropped callbacks' bodies, one JSON object a line,
so they can be delivered late (after ``shotline reconcile`` recovered them).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live

from shotline.errors import UploadError
from shotline.simulate.delivery import Courier
from shotline.simulate.engine import Simulator
from shotline.simulate.settings import FaultRates, SimulateSettings
from shotline.simulate.stats import Stats
from shotline.simulate.upload import S3Store

__all__ = ["run", "simulate", "write_lines"]

console = Console(stderr=True)


def write_lines(path: Path | None, lines: list[str]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines))


def _write_stats(path: Path, stats: Stats) -> None:
    path.write_bytes(orjson.dumps(stats.snapshot()))


async def run(
    settings: SimulateSettings,
    stop: asyncio.Event | None = None,
    live: bool = False,
    stats_file: Path | None = None,
    keep_ids: bool = True,
) -> Stats:
    """One simulator run against real HTTP and S3; returns its counters."""
    store = None
    if settings.upload:
        store = S3Store(
            settings.s3_endpoint,
            settings.bucket,
            settings.s3_region,
            settings.s3_access_key,
            settings.s3_secret_key,
            pool=settings.upload_threads,
        )
    courier = Courier(settings.url, settings.concurrency, settings.timeout_s, settings.attempts)
    simulator = Simulator(settings, courier, store, keep_ids=keep_ids)

    async def report() -> None:
        with Live(simulator.stats.table(), console=console, refresh_per_second=4) as view:
            while True:
                view.update(simulator.stats.table())
                if stats_file is not None:
                    _write_stats(stats_file, simulator.stats)
                await asyncio.sleep(0.5 if live else 1.0)

    reporter = asyncio.create_task(report()) if live or stats_file else None
    try:
        return await simulator.run(stop)
    finally:
        if reporter is not None:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        if stats_file is not None:
            _write_stats(stats_file, simulator.stats)
        await courier.close()


def simulate(
    url: str | None = typer.Option(
        None, help="Callback URL (default http://127.0.0.1:8080/v1/callbacks/<project>)."
    ),
    project: str = typer.Option("demo", help="Project key (the last path segment)."),
    callback_addr: str | None = typer.Option(
        None, help="callbackAddr in the checksum (default: the URL)."
    ),
    channels: int = typer.Option(10, min=1, help="Channels publishing video."),
    users: int = typer.Option(3, min=1, help="Publishing users per channel."),
    interval: float = typer.Option(5.0, min=0.001, help="Seconds between screenshots per user."),
    rate: float | None = typer.Option(None, min=0.001, help="Screenshots/s (overrides interval)."),
    count: int | None = typer.Option(None, min=0, help="Stop after this many screenshots."),
    duration: float | None = typer.Option(None, min=0.001, help="Stop after this many seconds."),
    concurrency: int = typer.Option(64, min=1, help="Screenshots in flight at once."),
    bucket: str = typer.Option("shotline-screenshots", help="Bucket the JPEGs go to."),
    s3_endpoint: str = typer.Option("http://127.0.0.1:9000", help="S3-compatible endpoint."),
    prefix: str = typer.Option("shotline/sim", help="Object name prefix (may hold '/')."),
    upload: bool = typer.Option(True, "--upload/--no-upload", help="Upload JPEGs to S3."),
    duplicate_rate: float = typer.Option(0.0, min=0, max=1, help="Duplicate storm rate."),
    bad_checksum_rate: float = typer.Option(0.0, min=0, max=1, help="Wrong checksum rate."),
    malformed_rate: float = typer.Option(0.0, min=0, max=1, help="Malformed body rate."),
    compact_timestamp_rate: float = typer.Option(
        0.0, min=0, max=1, help="Rate of 17-digit timestamps (else Unix ms)."
    ),
    missing_object_rate: float = typer.Option(0.0, min=0, max=1, help="Callback, no upload."),
    dropped_rate: float = typer.Option(0.0, min=0, max=1, help="Upload, no callback."),
    seed: int | None = typer.Option(None, help="Seed for a reproducible mix."),
    acked_file: Annotated[
        Path | None, typer.Option(help="Write acknowledged requestIds here.")
    ] = None,
    dropped_file: Annotated[
        Path | None, typer.Option(help="Write dropped requestIds here.")
    ] = None,
    dropped_bodies_file: Annotated[
        Path | None, typer.Option(help="Write dropped callbacks' bodies here (JSON lines).")
    ] = None,
    rejected_file: Annotated[
        Path | None, typer.Option(help="Write refused invalid requestIds.")
    ] = None,
    stats_file: Annotated[
        Path | None, typer.Option(help="Keep a JSON snapshot of the counters.")
    ] = None,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live display."),
) -> None:
    """Behave like Agora: upload screenshots to S3 and POST their callbacks.

    Agora's delivery rules apply: 5 s timeout, success only on HTTP 200 with a JSON body,
    immediate retry, 3 attempts in total, then give up.
    """
    url = url or f"http://127.0.0.1:8080/v1/callbacks/{project}"
    try:
        settings = SimulateSettings(
            url=url, project=project, callback_addr=callback_addr, channels=channels, users=users,
            interval_s=interval, rate=rate, count=count, duration_s=duration,
            concurrency=concurrency, upload=upload, bucket=bucket, s3_endpoint=s3_endpoint,
            prefix=prefix, seed=seed,
            faults=FaultRates(
                duplicate=duplicate_rate, bad_checksum=bad_checksum_rate, malformed=malformed_rate,
                compact_timestamp=compact_timestamp_rate, missing_object=missing_object_rate,
                dropped=dropped_rate,
            ),
        )  # fmt: skip
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]error:[/red] {error['msg']}")
        raise typer.Exit(2) from exc

    async def main() -> Stats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        files = (acked_file, dropped_file, dropped_bodies_file, rejected_file)
        keep = any(path is not None for path in files)
        return await run(settings, stop, live=not quiet, stats_file=stats_file, keep_ids=keep)

    try:
        stats = asyncio.run(main())
    except UploadError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    write_lines(acked_file, stats.acked)
    write_lines(dropped_file, stats.dropped)
    write_lines(dropped_bodies_file, [body.decode() for body in stats.dropped_bodies])
    write_lines(rejected_file, stats.rejected)
    console.print(stats.table("Agora simulator — summary"))
    if stats.counts["lost"] or stats.counts["unexpected"]:
        raise typer.Exit(3)
