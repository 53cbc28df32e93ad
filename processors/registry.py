"""Built-in processors by name → import path. Third-party ones need no entry here."""

from __future__ import annotations

__all__ = ["BUILTINS"]

BUILTINS: dict[str, str] = {
    "dedupe": "processors.dedupe.handler:processor",
    "enrich": "processors.enrich.handler:processor",
    "metrics": "processors.metrics.handler:metrics",
    "moderate": "processors.moderate.handler:processor",
    "tally": "processors.metrics.handler:tally",
}
