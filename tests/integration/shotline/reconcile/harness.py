"""Running ``shotline`` verbs for the reconciler's tests: a project whose bucket lives in
the local S3 server, and the CLI as a real subprocess with this test's Kafka prefix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from schemas import KafkaSettings
from tests.conftest import S3_ENDPOINT, s3_client
from tests.integration.processors.runner.streams import ROOT

SHOTLINE = str(Path(sys.executable).with_name("shotline"))
PROJECT = "demo"
PREFIX = "shots/sim"


s3 = s3_client


def new_bucket(made: list[str], create: bool = True) -> str:
    name = f"rec-{uuid.uuid4().hex[:12]}"
    made.append(name)
    if create:
        s3().create_bucket(Bucket=name)
    return name


def drop_bucket(name: str) -> None:
    """Delete a test's bucket and its objects (the S3 server is shared and in memory)."""
    client = s3()
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
        for page in pages:
            keys = [{"Key": o["Key"]} for o in page.get("Contents", ())]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=name)
    except client.exceptions.NoSuchBucket:
        pass


def write_config(path: Path, bucket: str, callback_addr: str, prefix: str = PREFIX) -> Path:
    path.write_text(
        f"[projects.{PROJECT}]\n"
        f'callback_addr = "{callback_addr}"\n'
        f'bucket = "{bucket}"\n'
        f'object_prefix = "{prefix}"\n'
        f's3_endpoint = "{S3_ENDPOINT}"\n'
        's3_access_key = "testing"\n'
        's3_secret_key = "testing"\n'
        's3_addressing_style = "path"\n'
    )
    return path


def environment(kafka: KafkaSettings, config: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SHOTLINE_CONFIG": str(config),
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return env


def shotline(env: dict[str, str], *args: str, timeout_s: float = 120) -> tuple[int, str, str]:
    """Run ``shotline <args>``: (exit status, stdout, stderr)."""
    proc = subprocess.run(
        [SHOTLINE, *args], env=env, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT
    )
    return proc.returncode, proc.stdout, proc.stderr


def reconcile(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``shotline reconcile --project demo <args> --json``, which must succeed."""
    code, out, err = shotline(env, "reconcile", "--project", PROJECT, *args, "--json")
    assert code == 0, err
    summary: dict[str, Any] = json.loads(out)
    return summary
