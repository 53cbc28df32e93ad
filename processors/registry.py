"""Built-in processors by name → import path, in pipeline order. Third-party ones need no
entry here.

The one place a built-in stage is registered: ``shotline process NAME``, ``process --list``,
``shotline dev run`` (which starts them in this order) and the AsyncAPI page read it."""

from __future__ import annotations

__all__ = ["BUILTINS"]

BUILTINS: dict[str, str] = {
    "dedupe": "processors.dedupe.handler:processor",
    "enrich": "processors.enrich.handler:processor",
    "tally": "processors.metrics.handler:tally",
    "metrics": "processors.metrics.handler:metrics",
    "moderate": "processors.moderate.handler:processor",
}
