"""Throwaway TLS material and SCRAM users for the local secured Kafka listeners.

Generated once per dev home with ``openssl`` under ``<home>/tls`` (mode 700, files 600) and
reused until ``dev down --purge``: a CA, a broker key and certificate for ``localhost``
(DNS name only, so connecting by ``127.0.0.1`` is a genuine hostname mismatch), the broker's
PKCS#12 keystore, a client key and certificate (``CN=shotline``: the ``SSL`` listener asks
every client for one, mutual TLS), and random passwords for the keystore and the SCRAM-SHA-512 users
``broker`` (inter-broker) and ``shotline`` (clients). Nothing here is ever committed or
printed: clients read ``<home>/run/kafka-client.env`` (mode 600).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shotline.errors import ServiceError

__all__ = ["CLIENT_USER", "TlsMaterial", "ensure_tls"]

CLIENT_USER = "shotline"
BROKER_USER = "broker"
_DAYS = "30"


@dataclass(frozen=True)
class TlsMaterial:
    folder: Path
    keystore_password: str
    broker_password: str
    client_password: str

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.folder / "broker.p12"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _generate(folder: Path, keystore_password: str) -> None:
    ca_key, ca_pem = folder / "ca.key", folder / "ca.pem"
    key, csr, pem = folder / "broker.key", folder / "broker.csr", folder / "broker.pem"
    ext = folder / "broker.ext"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", _DAYS, "-subj",
        "/CN=shotline dev CA", "-keyout", str(ca_key), "-out", str(ca_pem),
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    ext.write_text("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", _DAYS, "-extfile", str(ext), "-out", str(pem),
    )  # fmt: skip
    client_ext = folder / "client.ext"
    client_ext.write_text("extendedKeyUsage=clientAuth\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={CLIENT_USER}",
        "-keyout", str(folder / "client.key"), "-out", str(folder / "client.csr"),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(folder / "client.csr"), "-CA", str(ca_pem), "-CAkey",
        str(ca_key), "-CAcreateserial", "-days", _DAYS, "-extfile", str(client_ext),
        "-out", str(folder / "client.pem"),
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", str(pem), "-inkey", str(key), "-name", "broker",
        "-out", str(folder / "broker.p12"), "-passout", f"pass:{keystore_password}",
    )  # fmt: skip


def ensure_tls(home: Path) -> TlsMaterial:
    """The dev home's TLS material and passwords, generated on first use."""
    folder = home / "tls"
    secrets_file = folder / "secrets.json"
    if not secrets_file.exists() or not (folder / "client.pem").exists():
        if shutil.which("openssl") is None:
            raise ServiceError("openssl is not on PATH; it makes the local TLS certificates")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, mode=0o700)
        values = {
            "keystore_password": secrets.token_urlsafe(18),
            "broker_password": secrets.token_urlsafe(18),
            "client_password": secrets.token_urlsafe(18),
        }
        _generate(folder, values["keystore_password"])
        secrets_file.write_text(json.dumps(values))
    for path in folder.iterdir():
        path.chmod(0o600)
    values = json.loads(secrets_file.read_text())
    return TlsMaterial(folder=folder, **values)


def scram_format_args(tls: TlsMaterial) -> tuple[str, ...]:
    """``kafka-storage format`` arguments that create the SCRAM-SHA-512 users."""
    return (
        "--add-scram", f"SCRAM-SHA-512=[name={BROKER_USER},password={tls.broker_password}]",
        "--add-scram", f"SCRAM-SHA-512=[name={CLIENT_USER},password={tls.client_password}]",
    )  # fmt: skip


def listener_properties(security: str, tls: TlsMaterial) -> str:
    """The SSL or SASL_SSL client listener's broker properties (keystore, truststore,
    SCRAM login of the inter-broker connection)."""
    lines = [
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={tls.keystore}",
        f"ssl.keystore.password={tls.keystore_password}",
        f"ssl.key.password={tls.keystore_password}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={tls.ca_file}",
        # mutual TLS on the SSL listener; SASL_SSL authenticates clients by SCRAM instead
        f"ssl.client.auth={'required' if security == 'SSL' else 'none'}",
    ]
    if security == "SASL_SSL":
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{BROKER_USER}" password="{tls.broker_password}";'
        )
        lines += [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
        ]
    return "\n".join(lines) + "\n"
