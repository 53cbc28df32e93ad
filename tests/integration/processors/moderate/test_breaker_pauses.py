"""While a provider's breaker is open the stage pauses its partitions (Backpressure) instead
of dead-lettering, and every record completes once the provider is back: real broker,
``shotline process moderate``, a provider outage over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from schemas import KafkaSettings
from tests.integration.processors.moderate.fakeprovider import FakeProvider, Script, serving
from tests.integration.processors.runner.streams import (
    free_port,
    produce,
    read_all,
    spawn,
    stop,
    wait_for_count,
)
from tests.unit.processors.moderate.shots import enriched

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N = 150
OUTAGE_S = 4.0


def _config(path: Path, url: str) -> Path:
    path.write_text(
        "[moderation.providers.fake]\n"
        f'kind = "http"\nurl = "{url}"\n'
        "rate_per_s = 200\nburst = 20\nconcurrency = 4\ntimeout_s = 1\n"
        "backoff_initial_s = 0.02\nbackoff_max_s = 0.1\n"
        "breaker_failures = 3\nbreaker_open_s = 1.0\n"
        '[projects."p1"]\n'
        'callback_addr = "https://example.test/cb"\nbucket = "b-moderation"\n'
        's3_endpoint = "http://127.0.0.1:9000"\ns3_access_key = "k"\ns3_secret_key = "s"\n'
        '[projects."p1".moderation]\nproviders = ["fake"]\n'
    )
    return path


async def test_open_breaker_pauses_then_every_record_completes(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    fake = FakeProvider(Script(outage_at=40, outage_s=OUTAGE_S))
    async with serving(fake) as url:
        env = {
            "SHOTLINE_CONFIG": str(_config(tmp_path / "shotline.toml", url)),
            "SHOTLINE_MODERATE_MAX_ATTEMPTS": "3",
            "SHOTLINE_PROCESSORS_BATCH_MAX_RECORDS": "20",
        }
        log = tmp_path / "moderate.log"
        proc = spawn(kafka, ["process", "moderate", "--port", str(free_port())], env, log)
        try:
            shots = [enriched(i) for i in range(N)]
            items = [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots]
            await produce(kafka, kafka.topics.enriched, items)
            await wait_for_count(kafka, kafka.topics.moderation, N, timeout_s=120)
        finally:
            code = stop(proc)
        assert code == 0, log.read_text()[-3000:]
    verdicts = await read_all(kafka, kafka.topics.moderation)
    ids = [orjson.loads(v)["request_id"] for _, _, v in verdicts]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(N)), "lost or repeated verdicts"
    assert await read_all(kafka, kafka.topics.dlq) == [], "a paused record was dead-lettered"
    # the outage happened, and the stage stopped hammering the provider while it lasted:
    # without the breaker every record would have spent its 3 attempts in it
    start = fake.arrivals[40]
    during = [t for t in fake.arrivals if start <= t < start + OUTAGE_S]
    assert fake.statuses.get(500, 0) >= 3
    assert len(during) <= 3 + 4 * int(OUTAGE_S + 1), f"{len(during)} requests during the outage"
