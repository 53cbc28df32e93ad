"""``shotline process moderate`` against the real broker: enriched screenshots in, one
verdict per screenshot out on ``shotline.moderation.v1`` (key = requestId), poison records
in the DLQ with their cause, configured by TOML ``[moderation.providers.*]`` and
``[projects.<key>.moderation]`` and ``SHOTLINE_MODERATE_MAX_ATTEMPTS``."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from processors.moderate.logic import sampled
from processors.moderate.records import skipped_verdict
from schemas import DeadLetterRecord, KafkaSettings
from schemas.moderation import ModerationVerdict, Verdict
from tests.integration.processors.moderate.fakeprovider import FakeProvider, Script, serving
from tests.integration.processors.runner.streams import (
    free_port,
    produce,
    read_all,
    scrape,
    spawn,
    stays_at,
    stop,
    wait_for_count,
    wait_until,
)
from tests.unit.processors.moderate.shots import enriched

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N = 200
SAMPLE = 0.5
# poison ids inside the sample (the others are skipped before any provider is asked)
POISON = frozenset([f"req-{i}" for i in range(N) if sampled(f"req-{i}", SAMPLE)][3:5])


def _config(path: Path, url: str) -> Path:
    path.write_text(
        "[moderation.providers.fake]\n"
        'kind = "http"\n'
        f'url = "{url}"\n'
        "rate_per_s = 100\nburst = 10\nbackoff_initial_s = 0.02\n"
        '[projects."p1"]\n'
        'callback_addr = "https://example.test/cb"\n'
        'bucket = "b-moderation"\n'
        's3_endpoint = "http://127.0.0.1:9000"\n'
        's3_access_key = "k"\ns3_secret_key = "s"\n'
        '[projects."p1".moderation]\n'
        f'providers = ["fake"]\nsample = {SAMPLE}\n'
    )
    return path


async def test_every_screenshot_gets_one_verdict_or_one_dead_letter(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    fake = FakeProvider(Script(poison=POISON, error_every=41))
    async with serving(fake) as url:
        port = free_port()
        env = {
            "SHOTLINE_CONFIG": str(_config(tmp_path / "shotline.toml", url)),
            "SHOTLINE_MODERATE_MAX_ATTEMPTS": "3",
        }
        log = tmp_path / "moderate.log"
        proc = spawn(kafka, ["process", "moderate", "--port", str(port)], env, log)
        try:
            shots = [enriched(i) for i in range(N)]
            items = [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots]
            await produce(kafka, kafka.topics.enriched, items)
            await wait_for_count(kafka, kafka.topics.moderation, N - len(POISON), timeout_s=90)
            await wait_until(
                lambda: (scrape(port, "shotline_moderation_verdicts_total") or 0) >= N - 2,
                timeout_s=30,
                what="verdict metrics",
            )
        finally:
            code = stop(proc)
        assert code == 0, log.read_text()[-3000:]
    verdicts = await read_all(kafka, kafka.topics.moderation)
    keys = [key.decode() for _, key, _ in verdicts if key is not None]
    assert len(keys) == len(set(keys)) == N - len(POISON), "a screenshot got two verdicts"
    by_kind: dict[str, int] = {}
    for _, key, value in verdicts:
        verdict = orjson.loads(value)
        assert verdict["request_id"] == (key or b"").decode()
        by_kind[verdict["verdict"]] = by_kind.get(verdict["verdict"], 0) + 1
    assert 60 <= by_kind.get("skipped", 0) <= 140  # sample = 0.5
    dead = [
        DeadLetterRecord.model_validate_json(v)
        for _, _, v in await read_all(kafka, kafka.topics.dlq)
    ]
    assert sorted(d.source_key or "" for d in dead) == sorted(POISON)
    assert {(d.reason, d.processor, d.attempts) for d in dead} == {
        ("budget_exhausted", "moderate", 3)
    }
    assert {d.source_key for d in dead} | set(keys) == {f"req-{i}" for i in range(N)}


async def test_records_whose_verdict_is_already_published_are_not_redone(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    """A crash between publishing verdicts and committing the input offsets: the verdicts
    are there, the records come again. They are read back on assignment and skipped."""
    earlier = [
        ModerationVerdict(request_id=f"req-{i}", project="p1", verdict=Verdict.PASS)
        for i in range(20)
    ]
    # keyed like the input, so each verdict sits in its input record's partition number
    await produce(
        kafka,
        kafka.topics.moderation,
        [(v.request_id.encode(), v.model_dump_json().encode()) for v in earlier],
    )
    fake = FakeProvider(Script())
    async with serving(fake) as url:
        config = _config(tmp_path / "shotline.toml", url)
        config.write_text(config.read_text().replace(f"sample = {SAMPLE}", "sample = 1.0"))
        env = {"SHOTLINE_CONFIG": str(config)}
        log = tmp_path / "moderate.log"
        proc = spawn(kafka, ["process", "moderate", "--port", str(free_port())], env, log)
        try:
            shots = [enriched(i) for i in range(60)]
            items = [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots]
            await produce(kafka, kafka.topics.enriched, items)
            await wait_for_count(kafka, kafka.topics.moderation, 60, timeout_s=90)
            await stays_at(kafka, kafka.topics.moderation, 60, for_s=3)
        finally:
            code = stop(proc)
        assert code == 0, log.read_text()[-3000:]
    asked = sorted(orjson.loads(body)["requestId"] for _, body in fake.requests)
    assert asked == sorted(f"req-{i}" for i in range(20, 60))
    keys = sorted((k or b"").decode() for _, k, _ in await read_all(kafka, kafka.topics.moderation))
    assert keys == sorted(f"req-{i}" for i in range(60))


async def test_skipped_screenshots_get_the_models_verdicts_again_for_each_copy(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    """Batches skipped whole (outside the sample, unknown project, no object) take the bytes
    fast path: the verdicts are the model's JSON, keyed by requestId, in the input record's
    partition, counted; copies sent again (their requestIds decided) get the same ones."""
    low = 0.001
    shots = [s for s in (enriched(i) for i in range(120)) if not sampled(s.request_id, low)]
    shots += [enriched(200 + i, project="elsewhere") for i in range(20)]
    shots += [enriched(300 + i).model_copy(update={"s3": None}) for i in range(20)]
    n = len(shots)
    expected = {
        s.request_id.encode(): skipped_verdict(
            s.request_id,
            s.project,
            "not_configured"
            if s.project != "p1"
            else "no_object"
            if s.s3 is None
            else "sampled_out",
        )
        .model_dump_json()
        .encode()
        for s in shots
    }
    fake = FakeProvider(Script())
    async with serving(fake) as url:
        config = _config(tmp_path / "shotline.toml", url)
        config.write_text(config.read_text().replace(f"sample = {SAMPLE}", f"sample = {low}"))
        port = free_port()
        log = tmp_path / "moderate.log"
        proc = spawn(
            kafka,
            ["process", "moderate", "--port", str(port)],
            {"SHOTLINE_CONFIG": str(config)},
            log,
        )
        try:
            items = [(s.request_id.encode(), s.model_dump_json().encode()) for s in shots]
            await produce(kafka, kafka.topics.enriched, items)
            await wait_for_count(kafka, kafka.topics.moderation, n, timeout_s=90)
            await produce(kafka, kafka.topics.enriched, items)  # every one again
            await wait_for_count(kafka, kafka.topics.moderation, 2 * n, timeout_s=60)
            await stays_at(kafka, kafka.topics.moderation, 2 * n, for_s=2)
            await wait_until(
                lambda: scrape(port, "shotline_moderation_verdicts_total") == 2 * n,
                timeout_s=30,
                what="verdict metrics",
            )
        finally:
            code = stop(proc)
        assert code == 0, log.read_text()[-3000:]
    assert not fake.requests
    inputs = {key: part for part, key, _ in await read_all(kafka, kafka.topics.enriched)}
    verdicts = await read_all(kafka, kafka.topics.moderation)
    assert sorted(key or b"" for _, key, _ in verdicts) == sorted([*expected] * 2)
    for partition, key, value in verdicts:
        assert key is not None
        assert value == expected[key]
        assert partition == inputs[key]
