"""The moderate processor (``shotline process moderate``); see ``handler``."""

from processors.moderate.handler import ModerateProcessor, processor

__all__ = ["ModerateProcessor", "processor"]
