"""Enrich: each screenshot joined with its S3 object's facts (event first, HeadObject after)."""

from processors.enrich.handler import EnrichProcessor, processor

__all__ = ["EnrichProcessor", "processor"]
