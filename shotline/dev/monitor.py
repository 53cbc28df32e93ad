"""The live per-stage summary of ``shotline dev run``: rate, lag, DLQ, duplicates, bill.

Everything is read from what the stages already publish — their Prometheus endpoints and
the simulator's stats file — so the summary shows what an operator's dashboards would.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table

from shotline.dev.pipeline import Stage

__all__ = ["Monitor", "Row", "Samples", "render", "scrape"]

BILLABLE = ("shotline_metrics_billable_images", "shotline_usage_billable_images")
COST = ("shotline_metrics_cost_usd", "shotline_usage_cost_usd")
PEAK = ("shotline_metrics_qps_peak", "shotline_usage_qps_peak")
FREE_TIER = ("shotline_metrics_free_tier", "shotline_usage_free_tier")
RATE_WINDOW_S = 5.0  # rates are averaged over this long, so bursts do not flicker


@dataclass(frozen=True)
class Samples:
    """One scrape: ``(name, labels, value)`` for every sample."""

    items: tuple[tuple[str, dict[str, str], float], ...] = ()

    def total(self, name: str, **labels: str) -> float | None:
        """Sum of the samples named ``name`` whose labels include ``labels``; None if none."""
        values = [
            value
            for sample, have, value in self.items
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        ]
        return sum(values) if values else None


def scrape(url: str, timeout_s: float = 1.0) -> Samples | None:
    """Fetch and parse a Prometheus text endpoint; None if it does not answer."""
    try:
        response = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    items = [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]
    return Samples(tuple(items))


@dataclass
class Row:
    stage: str
    total: float | None = None
    rate: float | None = None
    lag: str = ""
    dlq: str = ""
    notes: str = ""


def _first(samples: Samples, names: tuple[str, ...], **labels: str) -> float | None:
    for name in names:
        value = samples.total(name, **labels)
        if value is not None:
            return value
    return None


def _bill_notes(samples: Samples) -> list[str]:
    """Billing gauges (``shotline_metrics_*``; ``shotline_usage_*`` in earlier builds)."""
    notes: list[str] = []
    images = _first(samples, BILLABLE)
    if images is not None:
        free = _first(samples, FREE_TIER, item="images")
        notes.append(f"billable images {_fmt(images)}" + (f" (free {_fmt(free)})" if free else ""))
    cost = _first(samples, COST, item="total")
    if cost is not None:
        notes.append(f"bill so far ${cost:,.2f}")
    peak = _first(samples, PEAK)
    if peak is not None:
        notes.append(f"peak QPS {_fmt(peak)}")
    return notes


def _emitted(samples: Samples) -> float | None:
    """Records a stage wrote. enrich also emits from its own tasks (an event arriving after
    its screenshot, a HeadObject answer), outside the runner's count: its enriched total is
    its output."""
    enriched = samples.total("shotline_enrich_enriched_total")
    return (
        enriched
        if enriched is not None
        else samples.total("shotline_processor_records_emitted_total")
    )


def _enrich_notes(samples: Samples) -> list[str]:
    """enrich's join: facts from events vs HeadObject, waiting, and missing objects."""
    enriched = samples.total("shotline_enrich_enriched_total")
    if enriched is None:
        return []
    by = {s: samples.total("shotline_enrich_enriched_total", source=s) for s in ("event", "head")}
    return [
        f"events {_fmt(by['event'] or 0.0)} heads {_fmt(by['head'] or 0.0)}",
        f"pending {_fmt(samples.total('shotline_enrich_pending'))}",
        f"missing {_fmt(samples.total('shotline_enrich_missing_total') or 0.0)}",
    ]


def _verdict_notes(samples: Samples) -> list[str]:
    """The moderate stage's verdicts by kind (``shotline_moderation_verdicts_total``)."""
    counts = {
        verdict: samples.total("shotline_moderation_verdicts_total", verdict=verdict)
        for verdict in ("block", "review", "pass", "skipped")
    }
    if all(value is None for value in counts.values()):
        return []
    return [" ".join(f"{verdict} {_fmt(value or 0.0)}" for verdict, value in counts.items())]


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


@dataclass
class Monitor:
    """Polls the stages; rates are the change of each stage's main counter per second."""

    stages: list[Stage]
    sim_stats: Path | None = None
    history: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)

    def _rate(self, key: str, total: float | None, at: float | None = None) -> float | None:
        """Per-second change of ``total`` over the last ``RATE_WINDOW_S`` seconds; ``at`` is
        when ``total`` was true, on any clock (default: now)."""
        if total is None:
            return None
        now = time.monotonic() if at is None else at
        points = self.history.setdefault(key, deque())
        points.append((now, total))
        while len(points) > 2 and now - points[1][0] >= RATE_WINDOW_S:
            points.popleft()
        then, before = points[0]
        if now <= then:
            return None
        return max(0.0, (total - before) / (now - then))

    def _simulator(self) -> Row | None:
        if self.sim_stats is None:
            return None
        try:
            snap = orjson.loads(self.sim_stats.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return Row("simulator", notes="starting")
        total = float(snap["planned"])
        notes = (
            f"acked {snap['acked']}  lost {snap['lost']}  rejected {snap['rejected']}  "
            f"dup sent {snap['duplicates_sent']}  p99 {snap['p99_ms']} ms"
        )
        # The file is up to a second old: rate it on the simulator's own clock.
        rate = self._rate("simulator", total, at=float(snap["elapsed_s"]))
        return Row("simulator", total, rate, notes=notes)

    def _stage(self, stage: Stage) -> Row:
        samples = scrape(stage.metrics_url) if stage.metrics_url else None
        if samples is None:
            return Row(stage.name, notes="no metrics yet")
        if stage.name == "ingest":
            total = samples.total("shotline_ingest_accepted_total")
            spool = samples.total("shotline_ingest_spool_depth_records")
            rejected = samples.total("shotline_ingest_rejected_total")
            return Row(
                "ingest",
                total,
                self._rate("ingest", total),
                lag=f"spool {_fmt(spool)}",
                notes=f"rejected {_fmt(rejected)}",
            )
        if stage.name == "s3-events":
            total = samples.total("shotline_s3events_published_total")
            return Row(stage.name, total, self._rate(stage.name, total), notes="SQS → Kafka")
        total = samples.total("shotline_processor_records_processed_total")
        lag = samples.total("shotline_processor_consumer_lag_records")
        dead = samples.total("shotline_processor_records_dead_lettered_total")
        own_dead = samples.total("shotline_enrich_dead_lettered_total")  # enrich's own, async
        if own_dead is not None:
            dead = (dead or 0.0) + own_dead
        notes = []
        emitted = _emitted(samples)
        if emitted is not None:
            notes.append(f"emitted {_fmt(emitted)}")
        duplicates = samples.total("shotline_dedupe_duplicates_total")
        if duplicates is not None:
            notes.append(f"duplicates dropped {_fmt(duplicates)}")
        notes += _bill_notes(samples) + _enrich_notes(samples)
        notes += _verdict_notes(samples)
        return Row(
            stage.name,
            total,
            self._rate(stage.name, total),
            lag=_fmt(lag),
            dlq=_fmt(dead or 0.0),
            notes="  ".join(notes),
        )

    def poll(self) -> list[Row]:
        """One row per stage in flow order: simulator, ingest, then the processors."""
        ordered = sorted(self.stages, key=lambda stage: stage.name != "ingest")
        rows = [self._stage(stage) for stage in ordered]
        sim = self._simulator()
        return ([sim] if sim else []) + rows


def render(rows: Iterable[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("stage", "left"),
        ("rate/s", "right"),
        ("total", "right"),
        ("lag", "right"),
        ("DLQ", "right"),
        ("notes", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(row.stage, _fmt(row.rate, 1), _fmt(row.total), row.lag, row.dlq, row.notes)
    return table
