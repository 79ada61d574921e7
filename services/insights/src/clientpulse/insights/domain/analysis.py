"""The weekly structured analysis: what the analyzer reads (a week's campaign rows) and what it writes.

Money is integer minor units beside its ISO 4217 currency; ratios are ``Decimal`` (JSON strings).
Every number and id in an analysis comes from the campaign rows; a model may only rewrite the prose
fields (``summary`` and the ``reasoning`` of findings and budget recommendations).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clientpulse.insights.domain.thresholds import AnalysisThresholds

DETERMINISTIC = "deterministic"


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """One campaign's sums over one week, as the results API reports them."""

    connection_id: str
    platform: str
    campaign_id: str
    campaign_name: str
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions: Decimal
    revenue_minor: int
    status: str | None = None
    creative_title: str | None = None
    reach: int | None = None
    seven_day_frequency: Decimal | None = None

    @property
    def key(self) -> tuple[str, str]:
        """A campaign is one platform account's campaign: the same id may exist in two accounts."""
        return (self.connection_id, self.campaign_id)


class Severity(enum.StrEnum):
    """How urgently a finding asks for attention."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class BudgetAction(enum.StrEnum):
    """What a budget recommendation asks for."""

    INCREASE = "increase"
    DECREASE = "decrease"
    PAUSE = "pause"
    TEST = "test"


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RuleFired(_Read):
    """A rule that fired, the thresholds it compared against, and what it judged."""

    rule: str = Field(description="the rule's name: a finding's code, a budget rule, or frequency_alert")
    kind: Literal["finding", "budget_recommendation", "frequency_alert"]
    subject: str = Field(description="what the rule judged: a currency (EUR), or a campaign (connection/campaign)")
    currency: str
    thresholds: dict[str, Decimal] = Field(description="the thresholds the rule read, by their settings name")
    output_id: str | None = Field(
        description="the finding or budget recommendation it produced; null for a frequency alert and for a "
        "budget rule that fired beyond the recommendations shown"
    )


class CurrencyTotals(_Read):
    """A currency's sums over the week and the week before (amounts of different currencies never add up)."""

    currency: str
    campaigns_with_spend: int
    spend_minor: int
    revenue_minor: int
    conversions: Decimal
    roas: Decimal | None
    cpa_minor: int | None
    previous_spend_minor: int
    previous_revenue_minor: int
    previous_conversions: Decimal
    previous_roas: Decimal | None
    previous_cpa_minor: int | None
    spend_change: Decimal | None = Field(description="relative change against the week before; null when it was 0")
    cpa_change: Decimal | None = Field(description="relative change against the week before; null when undefined")
    fatigued_spend_share: Decimal
    no_conversion_spend_share: Decimal
    revenue_tracked: bool = Field(description="false when conversions were recorded without any revenue")


class ComponentByCurrency(_Read):
    """One currency's value and points for a score component."""

    currency: str
    campaigns: int = Field(description="campaigns with spend: the weight of this currency in the component")
    value: Decimal | None
    points: Decimal | None = Field(description="null when the component does not apply to this currency")


class ScoreComponent(_Read):
    """One weighted part of the health score."""

    key: Literal["roas", "cpa_trend", "fatigue", "wasted_spend"]
    label: str
    max_points: int
    applicable: bool
    points: Decimal | None
    rule: str
    by_currency: list[ComponentByCurrency]


class HealthScore(_Read):
    """The health score and how it was reached."""

    score: int = Field(ge=0, le=100)
    status: Literal["good", "warning", "critical"]
    formula: str
    points_earned: Decimal
    points_available: int
    components: list[ScoreComponent]


class Finding(_Read):
    """Something the week's numbers show, with its severity."""

    id: str
    code: str
    severity: Severity
    currency: str | None
    title: str
    detail: str = Field(description="the facts behind the finding, written by the analyzer")
    reasoning: str = Field(description="why it matters: the analyzer's detail, or a model's prose about it")
    campaign_ids: list[str]


class Performer(_Read):
    """A campaign among the best or the worst by ROAS (among campaigns with meaningful spend)."""

    connection_id: str
    platform: str
    campaign_id: str
    campaign_name: str
    creative_title: str | None
    currency: str
    spend_minor: int
    revenue_minor: int
    conversions: Decimal
    roas: Decimal
    spend_share: Decimal
    reasoning: str


class BudgetRecommendation(_Read):
    """What to do with one campaign's budget, and the rule that fired."""

    id: str
    action: BudgetAction
    rule: str
    rule_description: str
    connection_id: str
    platform: str
    campaign_id: str
    campaign_name: str
    currency: str
    spend_minor: int
    roas: Decimal | None
    cpa_minor: int | None
    reasoning: str


class FrequencyAlert(_Read):
    """A campaign whose audience sees its ads too often (7-day frequency above the threshold)."""

    connection_id: str
    platform: str
    campaign_id: str
    campaign_name: str
    creative_title: str | None
    currency: str
    spend_minor: int
    seven_day_frequency: Decimal
    threshold: Decimal


class CreativeInsight(_Read):
    """A creative of a best, worst or fatigued campaign."""

    kind: Literal["best", "worst", "fatigued"]
    campaign_id: str
    campaign_name: str
    platform: str
    creative_title: str
    roas: Decimal | None
    seven_day_frequency: Decimal | None
    note: str


class QuickWin(_Read):
    """A small action with a visible effect next week."""

    id: str
    code: str
    text: str
    campaign_ids: list[str]


class ProseOrigin(_Read):
    """Who wrote the prose: the analyzer, or a model (and why a model's prose was refused, if it was)."""

    generated_by: str
    fallback_reason: str | None = None


class WeeklyAnalysis(_Read):
    """One client's analysis of one ISO week against the week before."""

    schema_version: int = 1
    client_id: str
    week: str
    start: date
    end: date
    previous_week: str
    previous_start: date
    previous_end: date
    summary: str
    health: HealthScore
    totals: list[CurrencyTotals]
    findings: list[Finding]
    top_performers: list[Performer]
    under_performers: list[Performer]
    budget_recommendations: list[BudgetRecommendation]
    frequency_alerts: list[FrequencyAlert]
    creative_insights: list[CreativeInsight]
    quick_wins: list[QuickWin]
    rules: AnalysisThresholds = Field(description="the thresholds the analysis was computed with")
    rules_fired: list[RuleFired] = Field(
        default_factory=list, description="every rule that fired, with its thresholds (empty in analyses before)"
    )
    prose: ProseOrigin
