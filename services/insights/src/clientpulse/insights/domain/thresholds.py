"""Every threshold of the weekly analysis's rules, in one object (docs/domain-rules.md, "AI analysis").

The defaults are the rules as documented; operators tune them through the insights settings
(``CLIENTPULSE_INSIGHTS_THRESHOLDS__FATIGUE_FREQUENCY=2.5``), and every analysis stores the thresholds it
was computed with beside the rules that fired.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

# A Decimal leaves as a JSON string ("4.0"); without this a constrained one is documented as a number.
_JSON_STRING: JsonDict = {"type": "string"}


class AnalysisThresholds(BaseModel):
    """The thresholds the analysis's rules compare against (ratios, shares and factors as decimals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target_roas: Decimal = Field(
        default=Decimal("4.0"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="ROAS that earns full ROAS points and a 'strong' finding",
    )
    roas_break_even: Decimal = Field(
        default=Decimal("1.0"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        description="ROAS below this lost money; a campaign to scale needs at least this",
    )
    roas_low: Decimal = Field(
        default=Decimal("2.0"), json_schema_extra=_JSON_STRING, ge=0, description="blended ROAS below this is low"
    )
    fatigue_frequency: Decimal = Field(
        default=Decimal("3.0"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="a 7-day frequency above this is fatigue (3.0 itself is not)",
    )
    meaningful_spend_share: Decimal = Field(
        default=Decimal("0.05"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        le=1,
        description="share of its currency's weekly spend a campaign needs",
    )
    roas_increase_factor: Decimal = Field(
        default=Decimal("1.25"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="ROAS at or above this × the currency's blended ROAS: scale it",
    )
    roas_decrease_factor: Decimal = Field(
        default=Decimal("0.75"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="ROAS below this × the currency's blended ROAS: cut it",
    )
    cpa_increase_factor: Decimal = Field(
        default=Decimal("0.8"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="CPA at or below this × the currency's CPA: scale it",
    )
    cpa_decrease_factor: Decimal = Field(
        default=Decimal("1.25"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="CPA at or above this × the currency's CPA: cut it",
    )
    cpa_rise: Decimal = Field(
        default=Decimal("0.2"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        description="CPA rise week over week above which CPA is reported rising",
    )
    cpa_fall: Decimal = Field(
        default=Decimal("0.1"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        description="CPA fall week over week at or beyond which CPA is reported falling",
    )
    cpa_rise_for_zero_points: Decimal = Field(
        default=Decimal("0.5"),
        json_schema_extra=_JSON_STRING,
        gt=0,
        description="CPA rise week over week that earns no CPA-trend points and makes a rising CPA critical",
    )
    fatigued_spend_critical_share: Decimal = Field(
        default=Decimal("0.5"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        le=1,
        description="share of spend in fatigued campaigns that is critical",
    )
    no_conversion_spend_share: Decimal = Field(
        default=Decimal("0.1"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        le=1,
        description="share of spend without conversions that is reported",
    )
    no_conversion_spend_critical_share: Decimal = Field(
        default=Decimal("0.3"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        le=1,
        description="share of spend without conversions that is critical",
    )
    spend_shift_share: Decimal = Field(
        default=Decimal("0.3"),
        json_schema_extra=_JSON_STRING,
        ge=0,
        description="change of spend week over week (either way) that is reported",
    )

    def of(self, names: tuple[str, ...]) -> dict[str, Decimal]:
        """The named thresholds and their values (what a rule that fired compared against)."""
        return {name: getattr(self, name) for name in names}


DEFAULT_THRESHOLDS = AnalysisThresholds()


def percent_text(share: Decimal) -> str:
    """A share as a whole percentage for rule text (``0.05`` → ``5 %``, ``0.125`` → ``12.5 %``)."""
    return f"{(share * 100).normalize():f} %"
