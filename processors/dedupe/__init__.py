"""Dedupe: duplicate callbacks stop here; each screenshot is published exactly once."""
