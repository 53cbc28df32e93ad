"""``kind = "http"``: the generic HTTP provider (presets in ``presets``).

The image goes by presigned S3 GET URL (``presign_expiry_s``). ``headers`` and ``params``
values may hold ``env:NAME``, replaced by ``$NAME`` at start (a missing variable is a
startup error); with ``hmac_secret_env`` the body is signed (``signing``). Status mapping:
2xx with the preset's shape → labels; 429 and 5xx → retriable with their ``Retry-After``
(seconds or HTTP date); other 4xx → rejected; timeouts, transport errors and bodies of the
wrong shape → retriable. httpx errors never leave this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import orjson

from processors.errors import ProviderRejected, ProviderRetriable
from processors.moderate.providers.base import ImageRequest, ImageSource, ProviderAnswer
from processors.moderate.providers.presets import build_request, parse_labels
from processors.moderate.settings import HttpProviderConfig
from processors.moderate.signing import SIGNATURE_HEADER, sign
from schemas.errors import ShotlineError

__all__ = ["HttpProvider", "parse_retry_after", "resolve_env"]

_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")


def resolve_env(value: str, environ: dict[str, str] | None = None) -> str:
    """``value`` with every ``env:NAME`` replaced by that variable (``token env:HIVE_KEY``)."""
    env = os.environ if environ is None else environ

    def lookup(match: re.Match[str]) -> str:
        name = match[1]
        if name not in env:
            raise ShotlineError(f"environment variable {name} is not set")
        return env[name]

    return _ENV.sub(lookup, value)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpProvider:
    batch_size = 1

    def __init__(self, name: str, config: HttpProviderConfig, images: ImageSource) -> None:
        self.name = name
        self.config = config
        self._images = images
        self._model = config.model or config.preset
        self._client: httpx.AsyncClient | None = None
        self._secret: bytes | None = None
        self._params: dict[str, str] = {}

    async def start(self) -> None:
        cfg = self.config
        headers = {k: resolve_env(v) for k, v in cfg.headers.items()}
        self._params = {k: resolve_env(v) for k, v in cfg.params.items()}
        if cfg.hmac_secret_env is not None:
            self._secret = resolve_env(f"env:{cfg.hmac_secret_env}").encode()
        limits = httpx.Limits(max_connections=cfg.concurrency * 2)
        # the guard owns the deadline; httpx's is a backstop so no socket outlives it long
        timeout = httpx.Timeout(cfg.timeout_s * 2)
        self._client = httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def call(self, items: Sequence[ImageRequest]) -> list[ProviderAnswer]:
        assert self._client is not None, "start() first"
        (item,) = items
        url = await self._images.presign(item, self.config.presign_expiry_s)
        req = build_request(self.config.preset, item, url, self._params)
        content = orjson.dumps(req.json) if req.json is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, content or b"")
        try:
            response = await self._client.request(
                req.method, self.config.url, params=req.params, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise ProviderRetriable(f"{self.name}: timed out ({exc!r})", "timeout") from exc
        except httpx.HTTPError as exc:
            raise ProviderRetriable(f"{self.name}: {exc!r}", "transport") from exc
        return [self._answer(response)]

    def _answer(self, response: httpx.Response) -> ProviderAnswer:
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            cause = "status_429" if status == 429 else "status_5xx"
            raise ProviderRetriable(f"{self.name}: HTTP {status}", cause, retry_after)
        if status >= 300:
            raise ProviderRejected(f"{self.name}: HTTP {status}: {response.text[:200]}")
        try:
            labels = parse_labels(self.config.preset, orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise ProviderRetriable(f"{self.name}: unusable answer: {exc}", "garbage") from exc
        return ProviderAnswer(labels=tuple(labels), model=self._model)
