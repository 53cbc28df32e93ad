"""The root of every error shotline raises on purpose; each unit branches from it."""

from __future__ import annotations

__all__ = ["ShotlineError"]


class ShotlineError(Exception):
    """Root of every error shotline raises on purpose."""
