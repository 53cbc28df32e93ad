"""Stage 1 partials and stage 2 monthly aggregation, on synthetic months."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from processors.metrics.aggregate import UsageBook
from processors.metrics.logic import RecentIds, Sighting, partials
from processors.metrics.pricing import PriceTable
from schemas.usage import UsagePartial, UsageRecord

NOW = datetime(2026, 3, 31, tzinfo=UTC)
MARCH = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp())
PRICES = PriceTable()


def sighting(n: int, second: int, partition: int, code: int = 200, rid: str = "") -> Sighting:
    return Sighting(
        project="acme",
        request_id=rid or f"r{n}",
        second=second,
        code=code,
        checksum_mismatch=False,
        partition=partition,
        offset=n,
    )


class Pipeline:
    """Stage 1 per input partition, stage 2 over the partials topic (one partition)."""

    def __init__(self, lateness_s: int = 60) -> None:
        self.recent = RecentIds(10_000)
        self.book = UsageBook(lateness_s)
        self.offset = 0

    def feed(self, batch: list[Sighting]) -> None:
        for partial in partials(batch, self.recent):
            self.book.apply(partial, partition=0, offset=self.offset)
            self.offset += 1

    def record(self, month: str = "2026-03") -> UsageRecord:
        return self.book.snapshot("acme", month, PRICES, waived=False, now=NOW)


def spread(total: int, second: int, partitions: int, start: int = 0) -> list[list[Sighting]]:
    """``total`` screenshots of one second dealt round-robin over ``partitions`` batches."""
    batches: list[list[Sighting]] = [[] for _ in range(partitions)]
    for i in range(total):
        batches[i % partitions].append(sighting(start + i, second, i % partitions))
    return batches


def test_peak_of_501_spread_over_three_partitions_is_summed_globally() -> None:
    pipe = Pipeline()
    for batch in spread(501, MARCH, 3):
        pipe.feed(batch)
    for batch in spread(300, MARCH + 1, 3, start=1000):
        pipe.feed(batch)
    rec = pipe.record()
    assert rec.peak_qps == 501
    assert rec.peak_second == datetime.fromtimestamp(MARCH, UTC)
    assert rec.billable_images == 801
    assert rec.qps_cost_usd == Decimal("1.50")
    assert rec.images_cost_usd == Decimal("0.00")


def test_peak_of_2000_over_many_partitions_and_small_batches() -> None:
    pipe = Pipeline()
    batches = spread(2_000, MARCH, 12)
    for batch in batches:
        for i in range(0, len(batch), 7):  # many small batches per partition
            pipe.feed(batch[i : i + 7])
    assert pipe.record().peak_qps == 2_000
    assert pipe.record().qps_cost_usd == Decimal("2250.00")


def test_synthetic_month_bill_matches_hand_computed_cents() -> None:
    # 25,000 billable images over a day at 250/s, plus one burst second of 600:
    # images 25,600 -> 15,600 over the free tier * $0.00003 = $0.468 -> $0.47;
    # peak 600 -> 100 * $1.5 = $150.00; total $150.468 -> $150.47.
    pipe = Pipeline()
    n = 0
    for k in range(100):
        pipe.feed([sighting(n + i, MARCH + k, i % 3) for i in range(250)])
        n += 250
    pipe.feed([sighting(n + i, MARCH + 100, i % 3) for i in range(600)])
    rec = pipe.record()
    assert (rec.billable_images, rec.peak_qps) == (25_600, 600)
    assert rec.images_cost_usd == Decimal("0.47")
    assert rec.qps_cost_usd == Decimal("150.00")
    assert rec.total_cost_usd == Decimal("150.47")


def test_injected_duplicates_are_counted_as_duplicates_and_billed_once() -> None:
    pipe = Pipeline()
    first = [sighting(i, MARCH, i % 3) for i in range(10)]
    again = [sighting(100 + i, MARCH, i % 3, rid=f"r{i}") for i in range(4)]
    pipe.feed(first)
    pipe.feed(again)
    rec = pipe.record()
    assert (rec.billable_images, rec.duplicates, rec.peak_qps) == (10, 4, 10)


def test_a_retried_batch_at_the_same_offsets_is_not_a_duplicate() -> None:
    recent = RecentIds(100)
    batch = [sighting(i, MARCH, 0) for i in range(5)]
    partials(batch, recent)
    assert partials(batch, recent)[0].images == 5


def test_non_200_codes_are_incomplete_not_billable() -> None:
    pipe = Pipeline()
    pipe.feed([sighting(0, MARCH, 0), sighting(1, MARCH, 0, code=206)])
    rec = pipe.record()
    assert (rec.billable_images, rec.incomplete, rec.peak_qps) == (1, 1, 1)


def test_late_event_within_lateness_counts_in_its_own_second() -> None:
    pipe = Pipeline(lateness_s=60)
    pipe.feed([sighting(i, MARCH, 0) for i in range(3)])
    pipe.feed([sighting(10 + i, MARCH + 30, 0) for i in range(2)])
    pipe.feed([sighting(20, MARCH, 1)])  # 30 s late: still second MARCH
    rec = pipe.record()
    assert rec.peak_qps == 4
    assert rec.late_events == 0


def test_event_later_than_the_lateness_counts_as_image_but_not_as_qps() -> None:
    pipe = Pipeline(lateness_s=60)
    pipe.feed([sighting(i, MARCH, 0) for i in range(3)])
    pipe.feed([sighting(10, MARCH + 120, 0)])
    pipe.feed([sighting(20 + i, MARCH, 1) for i in range(5)])  # 120 s late
    rec = pipe.record()
    assert (rec.billable_images, rec.peak_qps, rec.late_events) == (9, 3, 5)


def test_months_split_at_utc_midnight() -> None:
    pipe = Pipeline()
    last_march = int(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC).timestamp())
    pipe.feed([sighting(i, last_march, 0) for i in range(3)])
    pipe.feed([sighting(10 + i, last_march + 1, 0) for i in range(2)])
    assert pipe.record("2026-03").billable_images == 3
    assert pipe.record("2026-04").billable_images == 2


def test_partial_applied_twice_at_the_same_offset_counts_once() -> None:
    book = UsageBook(60)
    partial = UsagePartial(project="acme", second=MARCH, images=7)
    book.apply(partial, partition=2, offset=5)
    book.apply(partial, partition=2, offset=5)
    assert book.snapshot("acme", "2026-03", PRICES, False, NOW).billable_images == 7


def test_restore_from_snapshots_continues_exactly_like_an_uninterrupted_run() -> None:
    whole, first = UsageBook(60), UsageBook(60)
    stream = [
        UsagePartial(project="acme", second=MARCH + (i % 5), images=100, duplicates=i % 2)
        for i in range(20)
    ]
    for offset, partial in enumerate(stream):
        whole.apply(partial, 0, offset)
    for offset, partial in enumerate(stream[:12]):
        first.apply(partial, 0, offset)
    saved = first.snapshot("acme", "2026-03", PRICES, False, NOW)
    resumed = UsageBook(60)
    resumed.restore([UsageRecord.model_validate_json(saved.model_dump_json())], partition=0)
    for offset, partial in enumerate(stream):
        resumed.apply(partial, 0, offset)  # offsets <= 11 are skipped as already applied
    expected = whole.snapshot("acme", "2026-03", PRICES, False, NOW)
    assert resumed.snapshot("acme", "2026-03", PRICES, False, NOW) == expected
    assert expected.peak_qps == 400


def test_waived_project_shows_usage_with_zero_cost() -> None:
    book = UsageBook(60)
    book.apply(UsagePartial(project="af", second=MARCH, images=30_000), 0, 0)
    rec = book.snapshot("af", "2026-03", PRICES, waived=True, now=NOW)
    assert rec.billable_images == 30_000
    assert rec.total_cost_usd == Decimal("0")
    assert rec.waived


def test_current_qps_is_the_last_complete_second() -> None:
    book = UsageBook(60)
    book.apply(UsagePartial(project="acme", second=MARCH, images=42), 0, 0)
    book.apply(UsagePartial(project="acme", second=MARCH + 1, images=3), 0, 1)
    assert book.current_qps("acme") == 42
    assert book.current_qps("nobody") == 0


def test_recent_ids_stay_bounded() -> None:
    recent = RecentIds(3)
    for i in range(10):
        recent.is_duplicate(f"r{i}", 0, i)
    assert len(recent) == 3


def test_screenshot_dated_far_ahead_of_receipt_is_billed_but_cannot_poison_the_watermark() -> None:
    recent, book = RecentIds(100), UsageBook(60)
    now = [
        Sighting("acme", f"r{i}", MARCH, 200, False, 0, i, received_second=MARCH + 1)
        for i in range(3)
    ]
    ahead = Sighting("acme", "x", MARCH + 7_200, 200, False, 0, 3, received_second=MARCH + 1)
    later = [
        Sighting("acme", f"s{i}", MARCH + 5, 200, False, 0, 10 + i, received_second=MARCH + 6)
        for i in range(4)
    ]
    offset = 0
    for batch in ([*now, ahead], later):
        for partial in partials(batch, recent, max_future_s=300):
            book.apply(partial, 0, offset)
            offset += 1
    rec = book.snapshot("acme", "2026-03", PRICES, False, NOW)
    assert (rec.billable_images, rec.skewed_events, rec.late_events) == (8, 1, 0)
    assert (rec.peak_qps, rec.watermark) == (4, MARCH + 5)


def test_open_seconds_survive_the_compact_record_form_and_stay_small() -> None:
    book = UsageBook(600)
    for k in range(601):
        book.apply(UsagePartial(project="acme", second=MARCH + k, images=400 + k % 7), 0, k)
    book.apply(UsagePartial(project="acme", second=MARCH + 700, images=1), 0, 601)
    rec = book.snapshot("acme", "2026-03", PRICES, False, NOW)
    again = UsageRecord.model_validate_json(rec.model_dump_json())
    assert again.open_seconds == book.projects["acme"].seconds
    assert len(again.open_seconds) == 502  # seconds MARCH+100 .. MARCH+600, and MARCH+700
    assert len(rec.model_dump_json()) < 4_000
