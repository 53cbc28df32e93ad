"""``shotline usage``: the bill estimate per project and month, read from the compacted
``shotline.usage.v1`` (the latest committed record of each ``project|month``)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from processors.errors import TopicReadError
from processors.metrics.client import read_usage
from schemas.usage import MONTH_PATTERN, UsageRecord
from shotline.kafka_check import check_kafka
from shotline.settings import load_settings

__all__ = ["as_json", "select", "usage"]

console = Console(stderr=True)


def select(
    records: Iterable[UsageRecord], project: str | None, month: str | None
) -> list[UsageRecord]:
    """The records matching the filters, sorted by project then month."""
    chosen = [
        r
        for r in records
        if (project is None or r.project == project) and (month is None or r.month == month)
    ]
    return sorted(chosen, key=lambda r: (r.project, r.month))


def as_json(record: UsageRecord) -> dict[str, Any]:
    """The ``--json`` object of one project-month; amounts are numbers in USD (cents)."""
    return {
        "project": record.project,
        "month": record.month,
        "billable_images": record.billable_images,
        "peak_qps": record.peak_qps,
        "peak_second": None if record.peak_second is None else record.peak_second.isoformat(),
        "images_cost_usd": float(record.images_cost_usd),
        "qps_cost_usd": float(record.qps_cost_usd),
        "total_cost_usd": float(record.total_cost_usd),
        "waived": record.waived,
        "duplicates": record.duplicates,
        "checksum_failures": record.checksum_failures,
        "incomplete": record.incomplete,
        "late_events": record.late_events,
        "skewed_events": record.skewed_events,
        "updated_at": record.updated_at.isoformat(),
    }


def _table(records: list[UsageRecord]) -> Table:
    table = Table(title="Agora screenshot bill estimate (USD)")
    for name in ("project", "month", "images", "peak QPS", "images $", "QPS $", "total $"):
        table.add_column(name, justify="left" if name in ("project", "month") else "right")
    for r in records:
        total = f"{r.total_cost_usd}" + (" (waived)" if r.waived else "")
        table.add_row(
            r.project,
            r.month,
            f"{r.billable_images:,}",
            f"{r.peak_qps:,}",
            f"{r.images_cost_usd}",
            f"{r.qps_cost_usd}",
            total,
        )
    return table


def usage(
    project: str | None = typer.Option(None, "--project", help="Only this project key."),
    month: str | None = typer.Option(None, "--month", help="Only this month, YYYY-MM (UTC)."),
    as_json_flag: bool = typer.Option(False, "--json", help="Print a JSON array of objects."),
) -> None:
    """Print billable images, peak QPS and the estimated bill per project and month."""
    if month is not None and not re.fullmatch(MONTH_PATTERN, month):
        console.print(f"[red]error:[/red] --month {month!r} is not YYYY-MM")
        raise typer.Exit(2)
    kafka = load_settings().kafka
    check_kafka(kafka)
    try:
        found = asyncio.run(read_usage(kafka))
    except TopicReadError as exc:
        console.print(f"[red]error:[/red] cannot read {kafka.topics.usage}: {exc}")
        raise typer.Exit(1) from exc
    records = select((r for _, r in found), project, month)
    if as_json_flag:
        typer.echo(json.dumps([as_json(r) for r in records], indent=2))
        return
    if not records:
        console.print("no usage recorded yet for this selection")
        return
    Console().print(_table(records))
