"""OAUTHBEARER token providers: the built-in AWS MSK IAM one and user-supplied ones.

``kafka.sasl_oauth_token_provider = "msk_iam"`` signs tokens with AWS's own signer
(``aws-msk-iam-sasl-signer-python``, the optional extra ``shotline[msk-iam]``) using the
standard AWS credential chain (env, profile, instance or task role); a ``module:attr``
path names an aiokafka ``AbstractTokenProvider`` subclass or instance of the user's.
The composition root resolves the provider once (``resolve_token_provider``) and attaches it
to the settings, so every client made from them shares one provider and its cached token.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Callable
from types import ModuleType

from aiokafka.abc import AbstractTokenProvider

from schemas.errors import KafkaConfigError
from schemas.kafka import MSK_IAM, KafkaSettings

__all__ = ["MskIamTokenProvider", "resolve_token_provider"]

EXTRA_HINT = "pip install 'shotline[msk-iam]'"
Signer = Callable[[str], tuple[str, int]]  # region -> (token, expiry in epoch ms)


def _signer_module() -> ModuleType:
    try:
        return importlib.import_module("aws_msk_iam_sasl_signer.MSKAuthTokenProvider")
    except ImportError as exc:
        raise KafkaConfigError(
            "kafka.sasl_oauth_token_provider=msk_iam needs the optional extra msk-iam "
            f"(aws-msk-iam-sasl-signer-python): {EXTRA_HINT}"
        ) from exc


class MskIamTokenProvider(AbstractTokenProvider):  # type: ignore[misc]
    """Signs an MSK IAM token with AWS's signer and reuses it until a minute before it
    expires (the signer makes ~15-minute tokens), so reconnects do not re-sign each time."""

    def __init__(self, region: str, sign: Signer | None = None, margin_s: float = 60.0) -> None:
        self.region = region
        self._sign: Signer = sign or _signer_module().generate_auth_token
        self._margin_s = margin_s
        self._token: str | None = None
        self._expires_at = 0.0  # epoch seconds
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.time() >= self._expires_at - self._margin_s:
                # The signer is synchronous (botocore credential lookups may do I/O).
                token, expiry_ms = await asyncio.to_thread(self._sign, self.region)
                self._token, self._expires_at = token, expiry_ms / 1000
            return self._token


def _load(path: str) -> AbstractTokenProvider:
    module_name, _, attr = path.partition(":")
    try:
        target: object = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise KafkaConfigError(f"kafka.sasl_oauth_token_provider={path!r}: {exc}") from exc
    if isinstance(target, type) and issubclass(target, AbstractTokenProvider):
        target = target()
    if not isinstance(target, AbstractTokenProvider):
        raise KafkaConfigError(
            f"kafka.sasl_oauth_token_provider={path!r} is not an aiokafka "
            "AbstractTokenProvider (class or instance)"
        )
    return target


def resolve_token_provider(kafka: KafkaSettings) -> KafkaSettings:
    """Settings with their OAUTHBEARER token provider attached (unchanged otherwise)."""
    path = kafka.sasl_oauth_token_provider
    if kafka.sasl_mechanism != "OAUTHBEARER" or path is None:
        return kafka
    if path == MSK_IAM:
        region = kafka.msk_iam_region or os.environ.get("AWS_REGION")
        region = region or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise KafkaConfigError(
                "kafka.sasl_oauth_token_provider=msk_iam needs kafka.msk_iam_region (or AWS_REGION)"
            )
        return kafka.with_token_provider(MskIamTokenProvider(region))
    return kafka.with_token_provider(_load(path))
