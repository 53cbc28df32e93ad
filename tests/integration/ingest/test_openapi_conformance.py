"""The OpenAPI document says exactly what ingest accepts: a bare ``schemathesis run
<live ingest>/openapi.json --checks all`` (no hooks) against a real ``shotline ingest`` on the
real broker, with a configured project key, finds no failure, and the schema-valid callbacks it
sent were accepted into Kafka. Bounded (``--max-examples``, a fixed seed) to a few seconds of
fuzzing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemas import KafkaSettings
from tests.integration.ingest.conftest import (
    KEY,
    IngestProcess,
    free_port,
    read_topic,
    write_config,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MAX_EXAMPLES = 80
SEED = 20260301


async def test_schemathesis_finds_no_failure_against_a_live_ingest(
    kafka: KafkaSettings, tmp_path: Path, ingest_processes: list[IngestProcess]
) -> None:
    # checksum = "log": random bodies carry wrong checksums; "log" accepts them, so every
    # schema-valid body must get 200 (enforce would answer 401, which hides nothing but
    # proves less).
    env = {
        "SHOTLINE_CONFIG": str(write_config(tmp_path / "shotline.toml", checksum="log")),
        "SHOTLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SHOTLINE_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "SHOTLINE_INGEST_SPOOL_DIR": str(tmp_path / "spool"),
    }
    ingest = IngestProcess(env, free_port(), tmp_path / "ingest.log")
    ingest_processes.append(ingest)
    ingest.start()
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.key" = "{KEY}"\n')
    schemathesis = Path(sys.executable).parent / "schemathesis"
    command = [
        str(schemathesis),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{ingest.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
    ]
    run = subprocess.run(
        command,
        cwd=tmp_path,  # schemathesis keeps its example database in the working directory
        env={k: v for k, v in ingest.env.items() if k != "SCHEMATHESIS_HOOKS"},  # bare
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "No issues found" in output or " passed" in output, output[-3000:]
    accepted = await read_topic(kafka, kafka.topics.callbacks)
    assert accepted, "no schema-valid callback was accepted: the run proved nothing"
