"""Optional extras of the ``shotline`` distribution and the one error for a missing one.

The production install (``pip install shotline``, the image) carries only what ingest, the
processors and the production verbs need. Development pieces (``shotline[dev]``: the local
S3 server, the bench's tools, the test and lint stack) and heavy optional providers live in
extras. Code that needs one calls :func:`require_extra` before importing it, so a missing
extra is one clear line (the CLI prints :class:`MissingExtraError` as ``error: ...`` and
exits 2) instead of an ``ImportError`` traceback.

Only ``importlib.util.find_spec`` is used: nothing is imported, so the check is cheap and has
no side effects.
"""

from __future__ import annotations

import importlib.util

from schemas.errors import MissingExtraError

__all__ = ["MissingExtraError", "require_extra"]


def require_extra(extra: str, *modules: str, feature: str) -> None:
    """Raise :class:`MissingExtraError` unless every top-level module in ``modules`` can be
    imported. ``feature`` says what needed it (``"shotline dev up"``)."""
    missing = [name for name in modules if not _importable(name)]
    if missing:
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra (missing: {', '.join(missing)}); "
            f"install it with: pip install 'shotline[{extra}]'"
        )


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing, or a None in sys.modules
        return False
