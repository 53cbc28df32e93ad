"""Builds a provider from its ``[moderation.providers.<name>]`` table, by ``kind``: the
built-ins, or ``package.module:factory`` for a third-party one (``factory(name, config,
images)`` returning a ``ModerationProvider``)."""

from __future__ import annotations

import importlib

from processors.moderate.providers.base import ImageSource, ModerationProvider
from processors.moderate.providers.http import HttpProvider
from processors.moderate.providers.local import LocalProvider
from processors.moderate.providers.rekognition import RekognitionProvider
from processors.moderate.settings import (
    HttpProviderConfig,
    LocalProviderConfig,
    ProviderConfig,
    RekognitionProviderConfig,
)
from schemas.errors import ShotlineError

__all__ = ["build_provider"]


def build_provider(name: str, config: ProviderConfig, images: ImageSource) -> ModerationProvider:
    if isinstance(config, HttpProviderConfig):
        return HttpProvider(name, config, images)
    if isinstance(config, RekognitionProviderConfig):
        return RekognitionProvider(name, config, images)
    if isinstance(config, LocalProviderConfig):
        return LocalProvider(name, config, images)
    module_name, _, attr = config.kind.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ShotlineError(f"provider {name}: cannot load {config.kind!r}: {exc}") from exc
    provider = factory(name, config, images)
    if not isinstance(provider, ModerationProvider):
        raise ShotlineError(f"provider {name}: {config.kind} is not a ModerationProvider")
    return provider
