"""The one S3 client factory (addressing style, keys from config or the credential chain) and
the one reading of its errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import SecretStr

from processors.objectstore import s3_client, s3_failure
from schemas import ProjectConfig


def _project(**fields: object) -> ProjectConfig:
    return ProjectConfig(callback_addr="https://example.test/cb", **fields)  # type: ignore[arg-type]


def test_virtual_addressing_style_reaches_botocore() -> None:
    client = s3_client(_project(s3_addressing_style="virtual", s3_region="oss-cn-hangzhou"))
    assert client.meta.config.s3 == {"addressing_style": "virtual"}
    assert client.meta.region_name == "oss-cn-hangzhou"


def test_configured_keys_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    client = s3_client(
        _project(s3_access_key=SecretStr("from-config"), s3_secret_key=SecretStr("cfg-secret"))
    )
    assert client._request_signer._credentials.access_key == "from-config"


def test_without_keys_the_standard_chain_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    client = s3_client(_project(s3_endpoint="http://127.0.0.1:9"))
    assert client._request_signer._credentials.access_key == "from-env"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_object_prefix_is_stored_without_edge_slashes() -> None:
    assert _project(object_prefix="/agora/shots/").object_prefix == "agora/shots"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("NoSuchKey", 404, "missing"),
        ("NoSuchVersion", 404, "missing"),  # a versioned GetObject
        ("", 404, "missing"),  # a HEAD answer has no body: only its status
        ("NoSuchBucket", 404, "missing"),
        ("AccessDenied", 403, "denied"),
        ("", 403, "denied"),
        ("InvalidAccessKeyId", 403, "denied"),  # no retry mends a bad key, on any call
        ("SignatureDoesNotMatch", 403, "denied"),
        ("SlowDown", 503, "transient"),
        ("InternalError", 500, "transient"),
        ("RequestTimeout", 400, "transient"),
    ],
)
def test_s3_errors_read_alike_for_every_stage(code: str, status: int, kind: str) -> None:
    answer = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    failure = s3_failure(ClientError(answer, "GetObject"))  # type: ignore[arg-type]
    assert failure.kind == kind
    assert failure.code == (code or str(status))


def test_no_answer_at_all_is_transient() -> None:
    failure = s3_failure(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert (failure.kind, failure.code) == ("transient", "EndpointConnectionError")
