"""Bills computed by hand from the seed prices ($0.3/10k images over 10k free; $1.5/QPS over
500 free), checked to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from processors.metrics.pricing import PriceTable, Rounding, bill

SEED = PriceTable()


def usd(text: str) -> Decimal:
    return Decimal(text)


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        (0, "0.00"),
        (9_999, "0.00"),
        (10_000, "0.00"),  # exactly the free tier
        (10_001, "0.00"),  # $0.00003 rounds to 0
        (10_167, "0.01"),  # 167 * 0.00003 = 0.00501
        (15_000, "0.15"),  # half a block above the free tier
        (20_000, "0.30"),  # one full block
        (25_000, "0.45"),  # 1.5 blocks
        (35_000, "0.75"),  # 2.5 blocks
        (1_010_000, "30.00"),  # 100 blocks
    ],
)
def test_images_are_prorated_per_image_above_the_free_10k(images: int, expected: str) -> None:
    result = bill(images, 0, SEED)
    assert result.images_usd == usd(expected)
    assert result.qps_usd == usd("0.00")
    assert result.total_usd == usd(expected)


@pytest.mark.parametrize(
    ("peak", "expected"),
    [(0, "0.00"), (499, "0.00"), (500, "0.00"), (501, "1.50"), (600, "150.00"), (2_000, "2250.00")],
)
def test_qps_above_the_free_500_costs_1_5_each(peak: int, expected: str) -> None:
    result = bill(0, peak, SEED)
    assert result.qps_usd == usd(expected)
    assert result.total_usd == usd(expected)


def test_started_blocks_are_charged_in_full_in_per_block_mode() -> None:
    prices = PriceTable(image_billing="per_block")
    assert bill(10_001, 0, prices).images_usd == usd("0.30")
    assert bill(35_000, 0, prices).images_usd == usd("0.90")  # 25,000 over: 3 started blocks
    assert bill(10_000, 0, prices).images_usd == usd("0.00")


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        (Rounding.HALF_UP, "0.05"),
        (Rounding.HALF_EVEN, "0.04"),
        (Rounding.UP, "0.05"),
        (Rounding.DOWN, "0.04"),
    ],
)
def test_rounding_rule_is_configurable(rounding: Rounding, expected: str) -> None:
    # 1,500 images over the free tier cost exactly $0.045.
    assert bill(11_500, 0, PriceTable(rounding=rounding)).images_usd == usd(expected)


def test_images_and_qps_add_up_in_the_total() -> None:
    result = bill(11_500, 501, SEED)  # 0.045 + 1.50 = 1.545
    assert (result.images_usd, result.qps_usd, result.total_usd) == (
        usd("0.05"),
        usd("1.50"),
        usd("1.55"),
    )


def test_round_stage_decides_whether_the_total_rounds_the_exact_sum_or_the_items() -> None:
    # 134 images over the tier = $0.00402 and 1 QPS at $0.004: each rounds to 0.00 alone.
    exact_total = PriceTable(qps_usd=Decimal("0.004"), round_stage="total")
    items_total = PriceTable(qps_usd=Decimal("0.004"), round_stage="items")
    assert bill(10_134, 501, exact_total).total_usd == usd("0.01")
    assert bill(10_134, 501, items_total).total_usd == usd("0.00")


def test_waived_project_costs_nothing() -> None:
    result = bill(1_010_000, 2_000, SEED, waived=True)
    assert (result.images_usd, result.qps_usd, result.total_usd) == (usd("0"),) * 3
