"""Runnable examples: a complete third-party processor (``plugin_example``)."""
