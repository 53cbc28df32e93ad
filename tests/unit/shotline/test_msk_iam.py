"""The OAUTHBEARER token providers: the built-in MSK IAM one (AWS's signer stubbed: there is
no MSK here) and user-supplied ones named by import path."""

from __future__ import annotations

import sys
import time
import types

import pytest
from aiokafka.abc import AbstractTokenProvider

from schemas import KafkaConfigError, KafkaSettings
from shotline.kafka_auth import MskIamTokenProvider, resolve_token_provider


class FixedToken(AbstractTokenProvider):  # type: ignore[misc]
    """A user's provider, loaded by ``tests.unit.shotline.test_msk_iam:FixedToken``."""

    async def token(self) -> str:
        return "user-token"


def msk(**extra: str) -> KafkaSettings:
    return KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider="msk_iam",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def signer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """AWS's signer module replaced by one that records the regions it signed for."""
    calls: list[str] = []

    def generate_auth_token(region: str) -> tuple[str, int]:
        calls.append(region)
        return f"token-{len(calls)}-{region}", int((time.time() + 900) * 1000)

    module = types.ModuleType("aws_msk_iam_sasl_signer.MSKAuthTokenProvider")
    module.generate_auth_token = generate_auth_token  # type: ignore[attr-defined]
    package = types.ModuleType("aws_msk_iam_sasl_signer")
    package.MSKAuthTokenProvider = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aws_msk_iam_sasl_signer", package)
    monkeypatch.setitem(sys.modules, "aws_msk_iam_sasl_signer.MSKAuthTokenProvider", module)
    return calls


async def test_msk_iam_signs_for_the_region_and_reuses_the_token(signer: list[str]) -> None:
    kafka = resolve_token_provider(msk(msk_iam_region="eu-west-1"))
    provider = kafka.client_kwargs()["sasl_oauth_token_provider"]
    assert isinstance(provider, MskIamTokenProvider)
    assert await provider.token() == "token-1-eu-west-1"
    assert await provider.token() == "token-1-eu-west-1"  # cached until near expiry
    assert signer == ["eu-west-1"]


async def test_msk_iam_token_is_renewed_before_it_expires() -> None:
    issued: list[int] = []

    def sign(region: str) -> tuple[str, int]:
        issued.append(1)
        return f"t{len(issued)}", int((time.time() + 30) * 1000)  # inside the 60 s margin

    provider = MskIamTokenProvider("us-east-1", sign=sign)
    assert await provider.token() == "t1"
    assert await provider.token() == "t2"


def test_msk_iam_region_falls_back_to_aws_region(
    signer: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    provider = resolve_token_provider(msk()).token_provider
    assert isinstance(provider, MskIamTokenProvider)
    assert provider.region == "ap-south-1"


def test_msk_iam_without_a_region_is_a_clear_error(
    signer: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(KafkaConfigError, match=r"needs kafka\.msk_iam_region"):
        resolve_token_provider(msk())


def test_msk_iam_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aws_msk_iam_sasl_signer", None)
    monkeypatch.setitem(sys.modules, "aws_msk_iam_sasl_signer.MSKAuthTokenProvider", None)
    with pytest.raises(KafkaConfigError, match=r"shotline\[msk-iam\]"):
        resolve_token_provider(msk(msk_iam_region="eu-west-1"))


async def test_a_user_provider_class_is_loaded_by_import_path() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider="tests.unit.shotline.test_msk_iam:FixedToken",
    )
    provider = resolve_token_provider(kafka).token_provider
    assert isinstance(provider, FixedToken)
    assert await provider.token() == "user-token"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.unit.nope:X", "No module named"),
        ("tests.unit.shotline.test_msk_iam:msk", "not an aiokafka"),
    ],
)
def test_a_bad_user_provider_path_is_a_clear_error(path: str, message: str) -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=path
    )
    with pytest.raises(KafkaConfigError, match=message):
        resolve_token_provider(kafka)
