"""The two billing stages against the real broker, on synthetic months with bills computed
by hand, driven by ``harness.run_until_idle`` so that crashes land at exact points."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from processors.metrics.client import read_usage
from processors.metrics.handler import MetricsProcessor, TallyProcessor
from schemas import KafkaSettings, ProjectConfig
from schemas.usage import UsageRecord
from tests.integration.processors.metrics.feed import Shot, burst, publish, steady
from tests.integration.processors.metrics.harness import Crashed, run_until_idle

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())
# A snapshot after every batch: each run ends with shotline.usage.v1 complete.
SETTINGS = {"allowed_lateness_s": 600, "snapshot_interval_s": 0}
PROJECTS = {
    "acme": ProjectConfig(callback_addr="https://acme.example/cb"),
    "beta": ProjectConfig(callback_addr="https://beta.example/cb"),
    "af": ProjectConfig(callback_addr="https://af.example/cb", waived=True),
}


async def usage(kafka: KafkaSettings) -> dict[str, UsageRecord]:
    return {rec.key: rec for _, rec in await read_usage(kafka)}


async def run_both(kafka: KafkaSettings) -> None:
    await run_until_idle(TallyProcessor(), kafka, projects=PROJECTS)
    await run_until_idle(MetricsProcessor(), kafka, settings=SETTINGS, projects=PROJECTS)


async def test_synthetic_month_bills_match_hand_computed_cents(kafka: KafkaSettings) -> None:
    shots: list[Shot] = []
    # acme: a burst of 2,000 in one second + 10,500 at 100/s = 12,500 images;
    # images (12,500 - 10,000) * $0.00003 = $0.075 -> $0.08; QPS (2,000 - 500) * $1.5 = $2,250.
    shots += burst("acme", MARCH, 2_000, "burst")
    shots += steady("acme", MARCH + 1, 105, 100, "steady")
    # 7 accepted with a checksum mismatch (ingest in `log` mode), and 3 with code 206.
    shots += [
        Shot("acme", f"acme-bad-{i}", MARCH + 200, checksum_status="mismatch") for i in range(7)
    ]
    shots += [Shot("acme", f"acme-206-{i}", MARCH + 200, code=206) for i in range(3)]
    # beta: a peak of exactly 501 and 499 more images: QPS $1.50, images free.
    shots += burst("beta", MARCH + 50, 501, "burst") + steady("beta", MARCH + 60, 1, 499, "s")
    # af is waived: usage is shown, the cost is 0.
    shots += steady("af", MARCH, 110, 100, "s")
    await publish(kafka, shots)
    # Injected duplicates: 40 acme burst records delivered again (plus 40 new ids later on).
    again = burst("acme", MARCH, 40, "burst") + burst("acme", MARCH + 150, 40, "other")
    await publish(kafka, again)
    await run_both(kafka)

    records = await usage(kafka)
    acme, beta, af = records["acme|2026-03"], records["beta|2026-03"], records["af|2026-03"]
    assert (acme.billable_images, acme.peak_qps, acme.duplicates) == (12_547, 2_000, 40)
    # 12,547 images (12,500 + 7 mismatching + 40 new "other" ids), peak 2,000:
    # images 2,547 * 0.00003 = 0.07641 -> 0.08; QPS 1,500 * 1.5 = 2,250.00; total 2,250.08.
    assert acme.images_cost_usd == Decimal("0.08")
    assert acme.qps_cost_usd == Decimal("2250.00")
    assert acme.total_cost_usd == Decimal("2250.08")
    assert (acme.checksum_failures, acme.incomplete) == (7, 3)
    assert acme.peak_second == datetime.fromtimestamp(MARCH, UTC)
    assert (beta.billable_images, beta.peak_qps) == (1_000, 501)
    assert (beta.images_cost_usd, beta.qps_cost_usd, beta.total_cost_usd) == (
        Decimal("0.00"),
        Decimal("1.50"),
        Decimal("1.50"),
    )
    assert (af.billable_images, af.waived, af.total_cost_usd) == (11_000, True, Decimal("0.00"))


async def test_restart_mid_month_with_a_crash_neither_loses_nor_double_counts(
    kafka: KafkaSettings,
) -> None:
    # First half of the month: 6,000 images with a 600 burst; second half: 6,000 with 800.
    # Totals: 12,000 images -> 2,000 * 0.00003 = $0.06; peak 800 -> 300 * 1.5 = $450.00.
    first = burst("acme", MARCH, 600, "b1") + steady("acme", MARCH + 1, 54, 100, "s1")
    second = burst("acme", MARCH + 86_400, 800, "b2") + steady(
        "acme", MARCH + 86_401, 52, 100, "s2"
    )
    await publish(kafka, first)
    await run_until_idle(TallyProcessor(), kafka)
    # Stage 2 dies half-way through a transaction: its emits are in the log, uncommitted.
    with pytest.raises(Crashed):
        await run_until_idle(
            MetricsProcessor(), kafka, settings=SETTINGS, crash_after=2, max_records=10
        )
    # A new incarnation fences the old transaction, restores and finishes the first half.
    await run_until_idle(MetricsProcessor(), kafka, settings=SETTINGS, max_records=10)
    mid = (await usage(kafka))["acme|2026-03"]
    assert (mid.billable_images, mid.peak_qps) == (6_000, 600)

    await publish(kafka, second)
    # Stage 1 crashes too, mid-transaction, before a clean restart.
    with pytest.raises(Crashed):
        await run_until_idle(TallyProcessor(), kafka, crash_after=0)
    await run_both(kafka)
    end = (await usage(kafka))["acme|2026-03"]
    assert (end.billable_images, end.peak_qps, end.duplicates) == (12_000, 800, 0)
    assert (end.images_cost_usd, end.qps_cost_usd, end.total_cost_usd) == (
        Decimal("0.06"),
        Decimal("450.00"),
        Decimal("450.06"),
    )


async def test_restore_replays_the_partials_committed_after_the_last_snapshot(
    kafka: KafkaSettings,
) -> None:
    # Part A: 600 in one second + 2,400 more; part B an hour later: 700 + 2,300. Totals
    # 6,000 images, peak 700.
    await publish(kafka, burst("acme", MARCH, 600, "a") + steady("acme", MARCH + 1, 24, 100, "a"))
    await run_until_idle(TallyProcessor(), kafka)
    await run_until_idle(MetricsProcessor(), kafka, settings=SETTINGS)  # snapshot: part A
    later = MARCH + 3_600
    await publish(kafka, burst("acme", later, 700, "b") + steady("acme", later + 1, 23, 100, "b"))
    await run_until_idle(TallyProcessor(), kafka)
    # Snapshots at most hourly: part B's batches commit their offsets without one, then the
    # process dies mid-transaction.
    hourly = {"snapshot_interval_s": 3600}
    with pytest.raises(Crashed):
        await run_until_idle(
            MetricsProcessor(), kafka, settings=hourly, crash_after=4, max_records=5
        )
    early = (await usage(kafka))["acme|2026-03"]
    assert (early.billable_images, early.peak_qps) == (3_000, 600)  # still part A only
    # A restart loads that snapshot and replays every partial committed since.
    await run_until_idle(MetricsProcessor(), kafka, settings=SETTINGS)
    rec = (await usage(kafka))["acme|2026-03"]
    assert (rec.billable_images, rec.peak_qps) == (6_000, 700)
