"""The composition root: the shotline CLI, settings, local services."""
