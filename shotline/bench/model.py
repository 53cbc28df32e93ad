"""What a benchmark scenario reports: shotline against a baseline measured in the same run."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Measurement"]


@dataclass(frozen=True)
class Measurement:
    """One scenario's result. ``value`` and ``baseline`` are in ``unit`` (higher is better),
    e.g. ``records/s``; ``extra`` holds further columns such as p50/p99 or CPU µs/request."""

    scenario: str
    unit: str
    value: float
    baseline: float
    baseline_name: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")
