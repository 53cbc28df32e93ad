"""Every client shotline makes works against a TLS listener and a SASL_SSL (SCRAM-SHA-512)
listener, and bad credentials stop a command at once with one clear line.

Each cluster is started once for the module by the real ``shotline dev up --security``
(throwaway CA, broker certificate for ``localhost``, SCRAM users) under a temp home on free
ports; its client settings come from the env file ``dev up`` writes.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry

from examples.plugin_example.flagger import Flagger
from processors.dedupe.logic import normalise
from processors.runner import Context
from processors.runner.metrics import RunnerMetrics
from processors.runner.settings import RunnerSettings
from processors.runner.stream import StreamEngine
from schemas import KafkaSettings, TopicSpec
from shotline.topics import ensure_topics
from tests.callbacks_factory import envelope
from tests.integration.cluster.devcluster import DevCluster
from tests.integration.ingest.conftest import IngestProcess, end_offsets, free_port, write_config
from tests.integration.ingest.test_ingest_process import post_many
from tests.integration.processors.runner.streams import (
    produce,
    read_all,
    spawn,
    stop,
    wait_for_count,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FLAGS = "shotline.flags.v1"
COUNT = 40


@pytest.fixture(scope="module", params=["ssl", "sasl_ssl"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevCluster]:
    dev = DevCluster(tmp_path_factory.mktemp(request.param), security=request.param)
    try:
        dev.up()
        yield dev
    finally:
        dev.down()


@pytest.fixture
def kafka(cluster: DevCluster) -> KafkaSettings:
    """This test's own topic prefix on the secured cluster."""
    return cluster.kafka(topic_prefix=f"s{uuid.uuid4().hex[:8]}.")


async def committed(kafka: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def wait_committed(
    kafka: KafkaSettings, group: str, topic: str, timeout_s: float, transactional: bool = False
) -> None:
    """Wait until ``group`` has committed past the last record of every partition of
    ``topic``. A transactional topic ends with a commit marker, which no consumer commits
    past: there the last record is at ``end - 2`` at the latest."""
    ends = await end_offsets(kafka, topic)
    want = {p: end - 1 if transactional and end else end for p, end in ends.items()}
    deadline = time.monotonic() + timeout_s
    while True:
        got = await committed(kafka, group, topic)
        if all(got.get(p, 0) >= offset for p, offset in want.items()):
            return
        assert time.monotonic() < deadline, f"{group} committed {got}, end offsets {ends}"
        await asyncio.sleep(0.5)


async def test_ingest_dedupe_plugin_and_cli_work_on_the_secured_listener(
    cluster: DevCluster, kafka: KafkaSettings, tmp_path: Path
) -> None:
    env = cluster.env(kafka)
    made = cluster.run("topics", "create", "--partitions", "3", env=env)
    assert made.returncode == 0, made.stderr
    assert f"created  {kafka.topics.callbacks}" in made.stderr
    flags = f"{kafka.topic_prefix}{FLAGS}"
    await ensure_topics(kafka, [TopicSpec(name=flags, partitions=3, replication=1, config={})])

    ingest = IngestProcess(
        {
            **env,
            "SHOTLINE_CONFIG": str(write_config(tmp_path / "shotline.toml")),
            "SHOTLINE_INGEST_SPOOL_DIR": str(tmp_path / "spool"),
        },
        free_port(),
        tmp_path / "ingest.log",
    )
    ingest.start()
    try:
        answers = post_many(ingest.url, "sec", COUNT)
    finally:
        assert ingest.terminate() in (0, -15)
    assert [r.status_code for r in answers] == [200] * COUNT
    assert {r.json()["via"] for r in answers} == {"kafka"}  # published, not spooled

    log = tmp_path / "process.log"
    proc = spawn(kafka, ["process", "dedupe", "examples.plugin_example.flagger:processor",
                         "--port", "0"], env, log)  # fmt: skip
    try:
        shots = await wait_for_count(kafka, kafka.topics.screenshots, COUNT, timeout_s=90)
        await wait_for_count(kafka, flags, COUNT, timeout_s=90)
        prefix = kafka.topic_prefix
        await wait_committed(kafka, f"{prefix}shotline-dedupe", kafka.topics.callbacks, 30)
        await wait_committed(
            kafka, f"{prefix}shotline-flagger", kafka.topics.screenshots, 30, transactional=True
        )
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]
    ids = {orjson.loads(v)["request_id"] for _, _, v in shots}
    assert ids == {f"sec-{i}" for i in range(COUNT)}

    for args in (["usage", "--json"], ["dlq", "list", "--json"]):
        done = cluster.run(*args, env=env)
        assert done.returncode == 0, done.stderr
    assert orjson.loads(cluster.run("usage", "--json", env=env).stdout) == []


class FastStreamFlagger(Flagger):
    name = "flagger-faststream"


async def test_faststream_engine_consumes_and_commits_over_the_secured_listener(
    cluster: DevCluster, kafka: KafkaSettings
) -> None:
    """The at-least-once engine (FastStream, ``security=`` from the same model) directly."""
    specs = kafka.topics.specs(partitions=2)
    out = f"{kafka.topic_prefix}shotline.flags2.v1"
    await ensure_topics(
        kafka, [*specs, TopicSpec(name=out, partitions=2, replication=1, config={})]
    )
    shots = [normalise(envelope(i), 60_000) for i in range(20)]
    items = [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots]
    await produce(kafka, kafka.topics.screenshots, items)
    ctx = Context(
        kafka=kafka,
        projects={},
        registry=CollectorRegistry(),
        settings={"topic": "shotline.flags2.v1"},
    )
    engine = StreamEngine(FastStreamFlagger(), ctx, RunnerSettings(), RunnerMetrics(ctx.registry))
    stop_event = asyncio.Event()
    task = asyncio.create_task(engine.run(stop_event))
    try:
        await wait_for_count(kafka, out, 20, timeout_s=60)
        group = ctx.group_id(FastStreamFlagger.name)
        await wait_committed(kafka, group, kafka.topics.screenshots, 30)
    finally:
        stop_event.set()
        await asyncio.wait_for(task, 60)
    assert len({v for _, _, v in await read_all(kafka, out)}) == 20


def bad_settings(cluster: DevCluster) -> dict[str, dict[str, str]]:
    port = cluster.client_env["SHOTLINE_KAFKA_BOOTSTRAP"].rsplit(":", 1)[1]
    cases = {
        "untrusted CA": {"SHOTLINE_KAFKA_SSL_CA_FILE": "/etc/ssl/certs/ca-certificates.crt"},
        "wrong hostname": {"SHOTLINE_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"},
    }
    if cluster.security == "sasl_ssl":
        cases["wrong password"] = {"SHOTLINE_KAFKA_SASL_PASSWORD": "not-the-password"}
    if cluster.security == "ssl":  # the SSL listener requires a client certificate (mTLS)
        cert, key = rogue_client_certificate(cluster.home / "rogue")
        cases["client certificate from another CA"] = {
            "SHOTLINE_KAFKA_SSL_CERT_FILE": str(cert),
            "SHOTLINE_KAFKA_SSL_KEY_FILE": str(key),
        }
    return cases


def rogue_client_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed client certificate and key: valid TLS, but no CA the broker trusts."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if not cert.exists():
        folder.mkdir(parents=True, exist_ok=True)
        argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=rogue", "-keyout", str(key), "-out", str(cert)]  # fmt: skip
        subprocess.run(argv, check=True, capture_output=True)
    return cert, key


EXPECTED = {
    "untrusted CA": "unable to get local issuer certificate",
    "wrong hostname": "certificate is not valid for '127.0.0.1'",
    "wrong password": "SASL SCRAM-SHA-512 login as shotline refused",
    "client certificate from another CA": "the broker refused our client certificate",
}


@pytest.mark.parametrize(
    "command",
    [
        ["process", "dedupe", "--port", "0"],
        ["ingest", "--port", "0"],
        ["reconcile", "--all-projects", "--since", "-1h", "--dry-run"],
        ["s3-events", "--sqs-queue-url", "http://127.0.0.1:9/queue/unused", "--duration", "1"],
    ],
    ids=["process", "ingest", "reconcile", "s3-events"],
)
def test_bad_credentials_stop_with_one_clear_line(
    cluster: DevCluster, command: list[str], tmp_path: Path
) -> None:
    secret = cluster.client_env.get("SHOTLINE_KAFKA_SASL_PASSWORD", "")
    config = write_config(tmp_path / "shotline.toml", bucket="shots")  # reconcile needs one
    for case, override in bad_settings(cluster).items():
        env = {
            **cluster.client_env,
            "SHOTLINE_CONFIG": str(config),
            "SHOTLINE_INGEST_SPOOL_DIR": str(tmp_path / "spool"),
            **override,
        }
        started = time.monotonic()
        try:
            done = cluster.run(*command, env=env, timeout_s=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{case}: {command[0]} hung instead of stopping")
        took = time.monotonic() - started
        assert done.returncode == 2, (case, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (case, done.stderr)
        assert EXPECTED[case] in errors[0], (case, done.stderr)
        assert "Traceback" not in done.stderr
        assert not secret or secret not in done.stderr + done.stdout
        print(f"{command[0]} / {case}: exit {done.returncode} in {took:.1f}s: {errors[0]}")
