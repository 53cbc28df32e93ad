"""The Kafka connection model: validation, client arguments, FastStream security, and how
a bad value reaches the user (one line naming the field, never the secret)."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLOAuthBearer, SASLPlaintext, SASLScram512
from pydantic import ValidationError

from processors.faststream_security import broker_security
from schemas import KafkaConfigError, KafkaSettings
from schemas.config import KafkaSettings as ConfigKafkaSettings
from shotline.kafka_auth import resolve_token_provider

CA = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")


def test_the_model_is_importable_from_its_old_home() -> None:
    assert ConfigKafkaSettings is KafkaSettings


def test_plaintext_kwargs_are_unchanged() -> None:
    assert KafkaSettings().client_kwargs() == {
        "bootstrap_servers": "127.0.0.1:9092",
        "client_id": "shotline",
        "security_protocol": "PLAINTEXT",
    }
    assert broker_security(KafkaSettings()) == {}


def test_ssl_gets_a_verifying_context_with_hostname_check() -> None:
    kwargs = KafkaSettings(security_protocol="SSL", ssl_ca_file=CA).client_kwargs()
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    relaxed = KafkaSettings(security_protocol="SSL", ssl_check_hostname=False).ssl_context()
    assert relaxed is not None
    assert relaxed.check_hostname is False
    assert relaxed.verify_mode == ssl.CERT_REQUIRED  # the chain is still verified


def test_scram_over_tls_carries_credentials_and_context() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u",
        sasl_password="p@ss",
    )
    kwargs = kafka.client_kwargs()
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("u", "p@ss")
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    security = broker_security(kafka)["security"]
    assert isinstance(security, SASLScram512)
    assert security.use_ssl is True
    assert (security.username, security.password) == ("u", "p@ss")
    assert "p@ss" not in repr(kafka)
    assert "p@ss" not in str(kafka.model_dump())


def test_sasl_plaintext_has_no_tls() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u",
        sasl_password="p",
    )  # fmt: skip
    assert "ssl_context" not in kafka.client_kwargs()
    security = broker_security(kafka)["security"]
    assert type(security) is SASLPlaintext
    assert security.use_ssl is False


def test_ssl_without_sasl_is_base_security_with_tls() -> None:
    security = broker_security(KafkaSettings(security_protocol="SSL"))["security"]
    assert type(security) is BaseSecurity
    assert security.use_ssl is True
    assert isinstance(security.ssl_context, ssl.SSLContext)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "security_protocol=SASL_SSL needs sasl_mechanism"),
        ({"sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": "p"},
         "needs security_protocol SASL_SSL or SASL_PLAINTEXT"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256"},
         "needs sasl_username and sasl_password"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"},
         "needs sasl_oauth_token_provider"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER",
          "sasl_oauth_token_provider": "not a path"}, "neither 'msk_iam' nor 'module:attr'"),
        ({"sasl_oauth_token_provider": "msk_iam"}, "only used with sasl_mechanism=OAUTHBEARER"),
        ({"ssl_ca_file": "/ca.pem"}, "ssl_ca_file set but security_protocol=PLAINTEXT"),
        ({"security_protocol": "SSL", "ssl_cert_file": "/c.pem"}, "go together"),
        ({"security_protocol": "SSL", "ssl_key_password": "x"}, "needs ssl_key_file"),
        ({"security_protocol": "TLS"}, "Input should be 'PLAINTEXT'"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-1"},
         "Input should be 'PLAIN'"),
    ],
)  # fmt: skip
def test_inconsistent_settings_are_refused_naming_the_field(
    fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSettings(**fields)  # type: ignore[arg-type]


def test_unreadable_ca_file_is_a_config_error() -> None:
    kafka = KafkaSettings(security_protocol="SSL", ssl_ca_file=Path("/nonexistent/ca.pem"))
    with pytest.raises(KafkaConfigError, match=r"kafka\.ssl_ca_file /nonexistent/ca\.pem"):
        kafka.client_kwargs()


def test_oauthbearer_without_a_resolved_provider_is_a_clear_error() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider="tests.unit.shotline.test_msk_iam:FixedToken",
    )  # fmt: skip
    with pytest.raises(KafkaConfigError, match="not resolved"):
        kafka.client_kwargs()
    resolved = resolve_token_provider(kafka)
    kwargs = resolved.client_kwargs()
    assert kwargs["sasl_mechanism"] == "OAUTHBEARER"
    assert kwargs["sasl_oauth_token_provider"] is resolved.token_provider
    faststream = broker_security(resolved)
    assert isinstance(faststream["security"], SASLOAuthBearer)
    assert faststream["sasl_oauth_token_provider"] is resolved.token_provider


def shotline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("shotline"))
    return subprocess.run(
        [exe, *args], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip


def test_cli_prints_one_line_for_a_misspelt_protocol_and_exits_2() -> None:
    done = shotline("topics", "list", env={"SHOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL-SSL"})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: invalid setting kafka.security_protocol (SHOTLINE_KAFKA_SECURITY_PROTOCOL): "
        "Input should be 'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'"
    )


def test_cli_never_prints_the_password_of_an_invalid_kafka_section() -> None:
    done = shotline(
        "topics", "list",
        env={"SHOTLINE_KAFKA_SECURITY_PROTOCOL": "SSL", "SHOTLINE_KAFKA_SASL_MECHANISM": "PLAIN",
             "SHOTLINE_KAFKA_SASL_USERNAME": "u", "SHOTLINE_KAFKA_SASL_PASSWORD": "hunter2-secret"},
    )  # fmt: skip
    assert done.returncode == 2
    assert "needs security_protocol SASL_SSL or SASL_PLAINTEXT" in done.stderr
    assert "hunter2-secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
