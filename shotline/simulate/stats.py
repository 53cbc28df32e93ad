"""What a simulator run did, counted as it happens, and its rich rendering."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

__all__ = ["Stats", "quantile"]


def quantile(values: list[float], q: float) -> float:
    """The value at rank ``int(q * n)`` of ``values`` sorted (0.0 if there are none): the
    simulator's and the benches' one quantile rule."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Stats:
    """Counters of one run. ``acked`` are requestIds Agora would consider delivered;
    ``lost`` are valid ones it gave up on; ``rejected`` are invalid ones refused as they
    should be; ``unexpected`` are invalid ones that were acknowledged anyway.

    The id lists are kept only with ``keep_ids`` (an oracle needs them); a long-running
    demo keeps the counts alone, so its memory stays flat.
    """

    keep_ids: bool = True

    started: float = field(default_factory=time.monotonic)
    planned: int = 0
    uploaded: int = 0
    upload_failed: int = 0
    missing_object: int = 0
    compact_timestamps: int = 0
    attempts: int = 0
    duplicates_sent: int = 0
    duplicates_acked: int = 0
    acked: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    dropped_bodies: list[bytes] = field(default_factory=list)  # kept with keep_ids
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    counts: Counter[str] = field(default_factory=Counter)

    def note(self, outcome: str, request_id: str) -> None:
        """Count ``request_id`` under ``outcome`` (acked, lost, rejected, unexpected, dropped)."""
        self.counts[outcome] += 1
        if self.keep_ids:
            ids: list[str] = getattr(self, outcome)
            ids.append(request_id)

    @property
    def elapsed_s(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able summary (also what ``--stats-file`` holds)."""
        latencies = list(self.latencies)
        return {
            "elapsed_s": round(self.elapsed_s, 3),
            "planned": self.planned,
            "uploaded": self.uploaded,
            "upload_failed": self.upload_failed,
            "acked": self.counts["acked"],
            "lost": self.counts["lost"],
            "rejected": self.counts["rejected"],
            "unexpected_acks": self.counts["unexpected"],
            "dropped": self.counts["dropped"],
            "missing_object": self.missing_object,
            "compact_timestamps": self.compact_timestamps,
            "attempts": self.attempts,
            "duplicates_sent": self.duplicates_sent,
            "duplicates_acked": self.duplicates_acked,
            "outcomes": dict(self.outcomes),
            "screenshots_per_s": round(self.planned / self.elapsed_s, 1),
            "p50_ms": round(quantile(latencies, 0.50) * 1000, 2),
            "p99_ms": round(quantile(latencies, 0.99) * 1000, 2),
            "max_ms": round(max(latencies, default=0.0) * 1000, 2),
        }

    def table(self, title: str = "Agora simulator") -> Table:
        snap = self.snapshot()
        table = Table(title=title, show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(justify="right")
        rows = [
            ("screenshots", f"{snap['planned']}  ({snap['screenshots_per_s']}/s)"),
            ("uploaded", f"{snap['uploaded']}  (failed {snap['upload_failed']})"),
            ("acknowledged", str(snap["acked"])),
            ("lost after 3 attempts", str(snap["lost"])),
            ("rejected as intended", str(snap["rejected"])),
            ("invalid but accepted", str(snap["unexpected_acks"])),
            ("dropped on purpose", str(snap["dropped"])),
            ("missing objects", str(snap["missing_object"])),
            ("17-digit timestamps", str(snap["compact_timestamps"])),
            ("duplicates sent/acked", f"{snap['duplicates_sent']}/{snap['duplicates_acked']}"),
            ("HTTP attempts", str(snap["attempts"])),
            ("outcomes", " ".join(f"{k}={v}" for k, v in sorted(snap["outcomes"].items()))),
            ("latency p50/p99", f"{snap['p50_ms']} / {snap['p99_ms']} ms"),
        ]
        for name, value in rows:
            table.add_row(name, value)
        return table
