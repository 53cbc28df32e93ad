"""``shotline reconcile``: the command line of the reconciler (shotline/reconcile/).

Exit status: 0 when every project was reconciled (an empty listing included), 1 when a
bucket or Kafka failed (the others are still reconciled and reported), 2 for bad usage
(times, unknown project, no bucket configured). Errors are one line, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from schemas import ProjectConfig
from shotline.kafka_check import check_kafka
from shotline.reconcile import (
    ReconcileMetrics,
    Reporter,
    RunResult,
    TimeRange,
    TimeSyntaxError,
    parse_time,
    run_reconcile,
)
from shotline.settings import load_settings

__all__ = ["reconcile"]

err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


class _Bars(Reporter):
    """Progress bars on the terminal: objects listed, topic records read, callbacks sent."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def _task(self, name: str, total: int | None) -> TaskID:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        return self.tasks[name]

    def listing(self, project: str, prefix: str, listed: int) -> None:
        self.progress.update(self._task(f"list {project}", None), completed=listed)

    def scanning(self, read: int, total: int) -> None:
        task = self._task("scan shotline.screenshots.v1", total)
        self.progress.update(task, completed=read, total=total)

    def publishing(self, project: str, done: int, total: int) -> None:
        self.progress.update(self._task(f"publish {project}", total), completed=done)


def _projects(project: str | None, all_projects: bool) -> dict[str, ProjectConfig]:
    if (project is None) == (not all_projects):
        raise _fail("give exactly one of --project KEY or --all-projects")
    try:
        configured = load_settings().projects
    except (FileNotFoundError, ValidationError) as exc:
        raise _fail(f"configuration: {exc}".splitlines()[0]) from None
    if project is not None:
        if project not in configured:
            raise _fail(f"unknown project {project!r} (not in the configuration)")
        if configured[project].bucket is None:
            raise _fail(f"project {project!r} has no bucket configured")
        return {project: configured[project]}
    chosen = {key: cfg for key, cfg in configured.items() if cfg.bucket is not None}
    if not chosen:
        raise _fail("no project has a bucket configured")
    return chosen


def _print(run: RunResult) -> None:
    table = Table(title=f"reconcile {run.window.since:%F %T} → {run.window.until:%F %T} UTC")
    columns = ("project", "listed", "skipped", "seen", "missing callbacks", "published")
    for name in (*columns, "missing objects"):
        table.add_column(name, justify="left" if name == "project" else "right")
    for p in run.projects:
        if p.error:
            table.add_row(p.project, "[red]failed[/red]", *(["-"] * 5))
            continue
        row = {**p.as_json(), "skipped": sum(p.skipped.values())}
        names = ("listed", "skipped", "seen", "missing_callbacks", "published", "missing_objects")
        table.add_row(p.project, *(f"{row[k]:,}" for k in names))
    Console().print(table)
    mode = " (dry run: nothing published)" if run.dry_run else ""
    Console().print(f"done in {run.duration_s:.1f} s{mode}", highlight=False)


def _notes(run: RunResult) -> None:
    for p in run.projects:
        if p.error:
            err.print(f"[red]error:[/red] {p.project}: {p.error}", highlight=False)
        elif p.listed == 0:
            where = ", ".join(f"s3://{p.bucket}/{prefix}" for prefix in p.prefixes)
            err.print(f"{p.project}: no objects under {where}", highlight=False)
    if run.error:
        err.print(f"[red]error:[/red] {run.error}", highlight=False)


def reconcile(
    project: str | None = typer.Option(None, "--project", help="The project key to reconcile."),
    all_projects: bool = typer.Option(
        False, "--all-projects", help="Every configured project that has a bucket."
    ),
    since: str = typer.Option(
        ..., "--since", help="Range start: ISO 8601 (naive = UTC) or relative (-2h, -30m, -1d)."
    ),
    until: str = typer.Option("now", "--until", help="Range end (exclusive), same forms."),
    grace: float = typer.Option(
        600.0, "--grace", min=0, help="Skip objects modified less than this many seconds ago."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; publish nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            help="Write the shotline_reconcile_* metrics here (Prometheus text format, for "
            "node_exporter's textfile collector).",
        ),
    ] = None,
) -> None:
    """Recover screenshots whose callbacks Agora gave up on.

    Lists the bucket under <object_prefix>/<yyyymmdd>/ for each UTC day of the range.
    Keeps Agora screenshots taken in the range and modified more than --grace s ago.
    Publishes a callback (source "reconciler") for each that never reached dedupe's output.
    Reports callbacks whose object does not exist (enrich's missing_object dead letters).
    Example, every 15 minutes from cron: shotline reconcile --all-projects --since -2h --json
    """
    now = datetime.now(UTC)
    try:
        window = TimeRange(parse_time(since, now), parse_time(until, now))
    except TimeSyntaxError as exc:
        raise _fail(str(exc)) from None
    chosen = _projects(project, all_projects)
    kafka = load_settings().kafka
    check_kafka(kafka)  # bad credentials: one clear line and exit 2, not a hang
    metrics = ReconcileMetrics()

    async def go(reporter: Reporter | None) -> RunResult:
        return await run_reconcile(
            kafka,
            chosen,
            window,
            grace_s=grace,
            dry_run=dry_run,
            now=now,
            metrics=metrics,
            reporter=reporter,
        )

    if err.is_terminal and not as_json:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            run = asyncio.run(go(_Bars(progress)))
    else:
        run = asyncio.run(go(None))
    if metrics_file is not None:
        metrics.write(metrics_file)
    _notes(run)
    if as_json:
        typer.echo(json.dumps(run.as_json(), indent=2))
    else:
        _print(run)
    if run.failed:
        raise typer.Exit(1)
