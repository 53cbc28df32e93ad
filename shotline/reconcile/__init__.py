"""``shotline reconcile``: recover screenshots whose callbacks Agora gave up on, by listing
the project's bucket and publishing a callback for each object that never reached
``shotline.screenshots.v1`` (docs/reconcile.md)."""

from shotline.errors import TimeSyntaxError
from shotline.reconcile.metrics import ReconcileMetrics
from shotline.reconcile.run import ProjectResult, Reporter, RunResult, run_reconcile
from shotline.reconcile.window import TimeRange, parse_time

__all__ = [
    "ProjectResult",
    "ReconcileMetrics",
    "Reporter",
    "RunResult",
    "TimeRange",
    "TimeSyntaxError",
    "parse_time",
    "run_reconcile",
]
