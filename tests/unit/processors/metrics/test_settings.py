"""Billing settings: seed defaults, and the environment reaching both the root settings and
the running processor's section."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from processors.metrics.settings import MetricsSettings
from shotline.process_cmd import env_section
from shotline.settings import Settings

ENV = {
    "SHOTLINE_METRICS_PRICES": '{"free_qps": 400, "rounding": "half_even"}',
    "SHOTLINE_METRICS_ALLOWED_LATENESS_S": "30",
    "SHOTLINE_METRICS_BUDGETS": '{"acme": 250}',
}


def test_defaults_are_the_seed_price_list() -> None:
    prices = MetricsSettings().prices
    assert (prices.free_images, prices.block_images, prices.block_usd) == (
        10_000,
        10_000,
        Decimal("0.3"),
    )
    assert (prices.free_qps, prices.qps_usd, prices.rounding.value) == (
        500,
        Decimal("1.5"),
        "half_up",
    )


def test_environment_configures_root_settings_and_processor_section_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    root = Settings().metrics
    section = MetricsSettings.model_validate(env_section("metrics", ENV))
    assert root == section
    assert (section.prices.free_qps, section.allowed_lateness_s) == (400, 30)
    assert section.budget_for("acme") == Decimal("250")
    assert section.budget_for("other") == Decimal("100")


def test_unknown_billing_setting_is_refused() -> None:
    with pytest.raises(ValidationError):
        MetricsSettings.model_validate({"free_qps": 400})  # belongs under prices
