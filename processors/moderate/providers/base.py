"""The provider port: what every moderation provider implements, and what it is given.

A provider turns images into labels (scores 0..1). One ``call`` is one request to the
service (one model run for the local model) for at most ``batch_size`` images; the quota
layer (``processors.moderate.guard``) around it owns rate, concurrency, timeouts, retries
and the breaker, so an adapter only translates: success → ``ProviderAnswer`` per image, in
order; a transient failure → ``ProviderRetriable``; a refusal → ``ProviderRejected``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from processors.errors import ProviderRejected
from schemas import ProjectConfig
from schemas.moderation import ImageFacts, ModerationLabel

__all__ = ["ImageRequest", "ImageSource", "ModerationProvider", "ProviderAnswer"]


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """One screenshot to look at: who sent it and where its object is."""

    request_id: str
    project: str
    channel: str
    user_id: str
    timestamp: int | str  # as the callback carried it
    bucket: str
    key: str
    size: int
    version_id: str | None
    config: ProjectConfig


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    labels: tuple[ModerationLabel, ...]
    model: str
    image: ImageFacts | None = None


@runtime_checkable
class ImageSource(Protocol):
    """How providers reach the bytes: a presigned GET URL, or the bytes themselves."""

    async def presign(self, item: ImageRequest, expiry_s: int) -> str: ...

    async def fetch(self, item: ImageRequest) -> bytes: ...


@runtime_checkable
class ModerationProvider(Protocol):
    name: str
    batch_size: int

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def call(
        self, items: Sequence[ImageRequest]
    ) -> Sequence[ProviderAnswer | ProviderRejected]:
        """One answer per item, in order; a ``ProviderRejected`` in the list refuses that
        item alone (an image that does not decode), raising it refuses the whole call."""
        ...
