"""The bill's rounding, item by item and on both round stages, with amounts chosen so each
rounding mode gives a different cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from processors.metrics.pricing import Bill, PriceTable, Rounding, bill

# Half a cent per QPS above 500: 1 QPS over = $0.005 (a tie), 3 QPS over = $0.015 (a tie with
# an odd cent below it), so half-up, half-even, up and down all differ somewhere.
HALF_CENT_QPS = Decimal("0.005")


def usd(text: str) -> Decimal:
    return Decimal(text)


@pytest.mark.parametrize(
    ("rounding", "one_over", "three_over"),
    [
        (Rounding.HALF_UP, "0.01", "0.02"),
        (Rounding.HALF_EVEN, "0.00", "0.02"),
        (Rounding.UP, "0.01", "0.02"),
        (Rounding.DOWN, "0.00", "0.01"),
    ],
)
@pytest.mark.parametrize("stage", ["total", "items"])
def test_the_qps_item_uses_the_configured_rounding(
    rounding: Rounding, one_over: str, three_over: str, stage: str
) -> None:
    prices = PriceTable(qps_usd=HALF_CENT_QPS, rounding=rounding, round_stage=stage)
    assert bill(0, 501, prices) == Bill(usd("0.00"), usd(one_over), usd(one_over))
    assert bill(0, 503, prices) == Bill(usd("0.00"), usd(three_over), usd(three_over))


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        (Rounding.HALF_UP, "0.01"),
        (Rounding.HALF_EVEN, "0.00"),
        (Rounding.UP, "0.01"),
        (Rounding.DOWN, "0.00"),
    ],
)
def test_the_exact_total_uses_the_configured_rounding(rounding: Rounding, expected: str) -> None:
    # 100 images over the tier = $0.003, 1 QPS over at $0.002: the exact total is $0.005.
    prices = PriceTable(qps_usd=Decimal("0.002"), rounding=rounding)
    assert bill(10_100, 501, prices).total_usd == usd(expected)


def test_items_stage_total_is_the_sum_of_the_rounded_items() -> None:
    prices = PriceTable(round_stage="items")
    assert bill(11_500, 501, prices) == Bill(usd("0.05"), usd("1.50"), usd("1.55"))
    assert bill(11_500, 0, prices) == Bill(usd("0.05"), usd("0.00"), usd("0.05"))
    assert bill(10_000, 502, prices) == Bill(usd("0.00"), usd("3.00"), usd("3.00"))


def test_items_stage_can_differ_from_the_exact_total_by_a_cent() -> None:
    # $0.004 + $0.004 (rounded items 0.00 + 0.00) against the exact $0.008 (0.01).
    items = PriceTable(qps_usd=Decimal("0.004"), round_stage="items")
    total = PriceTable(qps_usd=Decimal("0.004"), round_stage="total")
    assert bill(10_134, 501, items) == Bill(usd("0.00"), usd("0.00"), usd("0.00"))
    assert bill(10_134, 501, total) == Bill(usd("0.00"), usd("0.00"), usd("0.01"))


def test_a_coarser_quantum_rounds_every_amount_to_it() -> None:
    prices = PriceTable(cent=Decimal("1"))
    assert bill(25_000, 501, prices) == Bill(usd("0"), usd("2"), usd("2"))  # 0.45, 1.5, 1.95


def test_a_waived_bill_is_zero_at_the_configured_quantum() -> None:
    waived = bill(1_010_000, 2_000, PriceTable(cent=Decimal("0.001")), waived=True)
    assert waived == Bill(usd("0.000"), usd("0.000"), usd("0.000"))
    assert str(waived.total_usd) == "0.000"
