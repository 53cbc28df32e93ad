"""Settings of the billing pipeline (``SHOTLINE_METRICS_*``, TOML ``[metrics]``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from processors.metrics.pricing import PriceTable

__all__ = ["MetricsSettings", "TallySettings"]


class MetricsSettings(BaseModel):
    """The billing section: the ``metrics`` processor (stage 2) and ``shotline usage``."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    prices: PriceTable = PriceTable()
    allowed_lateness_s: int = Field(
        default=600,
        ge=0,
        description="How far behind a project's newest screenshot second a late one may "
        "arrive and still count in its own second's QPS.",
    )
    snapshot_interval_s: float = Field(
        default=1.0,
        ge=0,
        description="How often a partition's changed project-months are written to "
        "shotline.usage.v1; a restore replays the partials since the last write.",
    )
    budget_usd: Decimal = Field(
        default=Decimal("100"),
        ge=0,
        description="Monthly budget per project (alert ShotlineMonthlyCostOverBudget).",
    )
    budgets: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Per-project budget overrides, by project key: {"acme": 500}.',
    )

    def budget_for(self, project: str) -> Decimal:
        return self.budgets.get(project, self.budget_usd)


class TallySettings(BaseModel):
    """The ``tally`` processor's section (stage 1; ``SHOTLINE_TALLY_*``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    recent_ids: int = Field(
        default=100_000,
        ge=0,
        description="requestIds remembered per instance to catch duplicates leaking past dedupe.",
    )
    max_future_s: int = Field(
        default=300,
        ge=0,
        description="A screenshot dated further ahead of its receipt is billed but kept out "
        "of QPS (sender clock skew).",
    )
