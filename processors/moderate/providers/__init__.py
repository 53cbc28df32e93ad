"""Moderation providers: the port (``base``), the built-ins and the factory by ``kind``."""

from processors.moderate.providers.base import (
    ImageRequest,
    ImageSource,
    ModerationProvider,
    ProviderAnswer,
)
from processors.moderate.providers.registry import build_provider

__all__ = ["ImageRequest", "ImageSource", "ModerationProvider", "ProviderAnswer", "build_provider"]
