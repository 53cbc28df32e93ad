"""The Agora screenshot bill: a price table and the pure function that applies it.

Interpretation of seed 001 (documented in docs/billing.md):

- images: ``max(0, billable_images - free_images)`` times ``block_usd / block_images``, i.e.
  pro-rated per image above the free 10,000 ($0.00003 each with the seed prices). With
  ``image_billing = "per_block"`` every started block of 10,000 is charged in full instead.
- QPS: ``max(0, peak_qps - free_qps) * qps_usd`` where ``peak_qps`` is the month's highest
  count of billable screenshots in one UTC second ($1.5 per QPS above 500).
- Amounts are exact decimals until the end, then rounded to ``cent`` with ``rounding``
  (default half-up to the cent). ``round_stage = "total"`` rounds each item and the exact
  total separately (the total can differ from the items' sum by a cent); ``"items"`` rounds
  each item and defines the total as their sum.
- A waived project (ActiveFence extension users) costs 0; its usage is still reported.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Bill", "PriceTable", "Rounding", "bill"]


class Rounding(StrEnum):
    """How an exact amount becomes cents (names follow ``decimal``'s modes)."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"  # away from zero: never under-estimates
    DOWN = "down"  # towards zero: never over-estimates

    @property
    def mode(self) -> str:
        return {
            Rounding.HALF_UP: decimal.ROUND_HALF_UP,
            Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
            Rounding.UP: decimal.ROUND_UP,
            Rounding.DOWN: decimal.ROUND_DOWN,
        }[self]


class PriceTable(BaseModel):
    """Agora's screenshot prices; defaults are the seed's list prices."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    free_images: int = Field(default=10_000, ge=0, description="Free images per month.")
    block_images: int = Field(default=10_000, gt=0, description="Images per priced block.")
    block_usd: Decimal = Field(default=Decimal("0.3"), ge=0, description="USD per block.")
    image_billing: Literal["prorated", "per_block"] = Field(
        default="prorated", description="Charge per image above the free tier, or per block."
    )
    free_qps: int = Field(default=500, ge=0, description="Free peak QPS per month.")
    qps_usd: Decimal = Field(default=Decimal("1.5"), ge=0, description="USD per QPS above free.")
    rounding: Rounding = Field(
        default=Rounding.HALF_UP, description="How an exact amount is rounded to the cent."
    )
    round_stage: Literal["total", "items"] = Field(
        default="total",
        description="total: the exact sum rounded; items: the sum of the rounded items.",
    )
    cent: Decimal = Field(default=Decimal("0.01"), gt=0, description="Rounding quantum.")


@dataclass(frozen=True, slots=True)
class Bill:
    """A month's estimated bill in USD, rounded per the price table."""

    images_usd: Decimal
    qps_usd: Decimal
    total_usd: Decimal


def _images_exact(images: int, prices: PriceTable) -> Decimal:
    excess = max(0, images - prices.free_images)
    if prices.image_billing == "per_block":
        blocks = -(-excess // prices.block_images)  # ceil: a started block is a block
        return blocks * prices.block_usd
    return excess * prices.block_usd / prices.block_images


def bill(images: int, peak_qps: int, prices: PriceTable, waived: bool = False) -> Bill:
    """The bill for one project-month; all zero when ``waived``."""
    if waived:
        zero = Decimal(0).quantize(prices.cent)
        return Bill(zero, zero, zero)
    images_exact = _images_exact(images, prices)
    qps_exact = max(0, peak_qps - prices.free_qps) * prices.qps_usd
    mode = prices.rounding.mode
    images_usd = images_exact.quantize(prices.cent, rounding=mode)
    qps_usd = qps_exact.quantize(prices.cent, rounding=mode)
    if prices.round_stage == "items":
        total = images_usd + qps_usd
    else:
        total = (images_exact + qps_exact).quantize(prices.cent, rounding=mode)
    return Bill(images_usd, qps_usd, total)
