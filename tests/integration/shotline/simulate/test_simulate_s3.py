"""``shotline simulate`` against the local S3 server: real uploads, real JPEGs."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from shotline.cli import app
from tests.conftest import S3_ENDPOINT, s3_client
from tests.unit.shotline.simulate.receiver import Receiver, ReceiverServer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with ReceiverServer(Receiver()) as running:
        yield running


@pytest.mark.s3
def test_simulate_uploads_jpegs_and_writes_the_oracle_files(
    receiver: Receiver, tmp_path: Path
) -> None:
    bucket = f"sim-{uuid.uuid4().hex[:12]}"
    files = {name: tmp_path / f"{name}.txt" for name in ("acked", "dropped", "rejected")}
    args = [
        "simulate", "--url", receiver.url, "--rate", "500", "--count", "120",
        "--bucket", bucket, "--s3-endpoint", S3_ENDPOINT, "--prefix", "a/b",
        "--duplicate-rate", "0.2", "--bad-checksum-rate", "0.1", "--dropped-rate", "0.1",
        "--missing-object-rate", "0.05", "--seed", "5", "--quiet",
        "--acked-file", str(files["acked"]), "--dropped-file", str(files["dropped"]),
        "--rejected-file", str(files["rejected"]), "--stats-file", str(tmp_path / "s.json"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    acked, dropped, rejected = (set(files[n].read_text().split()) for n in files)
    assert acked == set(receiver.accepted)
    assert dropped
    assert rejected
    assert not (dropped | rejected) & acked
    stats = orjson.loads((tmp_path / "s.json").read_bytes())
    assert stats["planned"] == 120

    s3 = s3_client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)["Contents"]]
    assert len(keys) == 120 - stats["missing_object"] == stats["uploaded"]
    assert all(key.startswith("a/b/") and key.endswith(".jpg") for key in keys)
    body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    assert Image.open(io.BytesIO(body)).format == "JPEG"
    sids = {key.rsplit("/", 1)[1][:32] for key in keys}
    assert {rid[:32] for rid in dropped} <= sids
