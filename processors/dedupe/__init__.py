"""Dedupe: duplicate callbacks stop here; each screenshot is published exactly once."""

from processors.dedupe.handler import DedupeProcessor, processor

__all__ = ["DedupeProcessor", "processor"]
