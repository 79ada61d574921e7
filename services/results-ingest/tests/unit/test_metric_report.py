"""The unified view's pure rules: ratios from sums per currency, churn over the level at the start,
blending currencies only at a dated rate, and why a count of people has no value for a range."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clientpulse.results_ingest.domain.catalogue import DERIVED_METRICS
from clientpulse.results_ingest.domain.metric_report import PeriodFigures, blend, blended_lines, derive, window_note
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.shared.money import ExchangeRate, RateTable

DERIVED = {m.key: m for m in DERIVED_METRICS}
RATES = RateTable(
    "EUR",
    [ExchangeRate("USD", date(2026, 1, 1), Decimal("0.9")), ExchangeRate("USD", date(2026, 7, 1), Decimal("0.8"))],
)


def test_aov_subtracts_discounts_and_stays_in_its_currency() -> None:
    figures = PeriodFigures(
        sums={
            ("gross_sales_minor", "USD"): Decimal(10_000),
            ("discounts_minor", "USD"): Decimal(1_000),
            ("gross_sales_minor", "EUR"): Decimal(50_000),
            ("orders", None): Decimal(14),
        },
        counts_by_currency={("orders", "USD"): Decimal(4), ("orders", "EUR"): Decimal(10)},
    )
    # Orders go with the sales of the shops that took them: a USD shop's with USD, a EUR shop's with EUR.
    assert derive(DERIVED["aov_minor"], figures, "USD") == Decimal(2_250)
    assert derive(DERIVED["aov_minor"], figures, "EUR") == Decimal(5_000)


def test_churn_is_cancellations_over_the_level_when_the_period_began() -> None:
    figures = PeriodFigures(
        sums={("subscriptions_cancelled", None): Decimal(12)},
        levels={("active_subscriptions", None): Decimal(180)},
        levels_before={("active_subscriptions", None): Decimal(200)},
    )
    assert derive(DERIVED["churn_rate"], figures, None) == Decimal("0.06")


def test_csat_and_response_time_are_averages_of_sums() -> None:
    figures = PeriodFigures(sums={("csat_score_total", None): Decimal(43), ("csat_responses", None): Decimal(10)})
    assert derive(DERIVED["csat"], figures, None) == Decimal("4.3")
    assert derive(DERIVED["avg_first_response_seconds"], figures, None) is None


def test_blend_adds_one_currency_as_it_is() -> None:
    rows = [(date(2026, 8, 1), "net_sales_minor", "EUR", 1000), (date(2026, 8, 1), "spend_minor", "EUR", 250)]
    blended = blend(rows, RATES)
    assert (blended.currency, blended.revenue, blended.spend) == ("EUR", 1000, 250)


def test_blend_converts_each_day_at_the_rate_in_force() -> None:
    rows = [
        (date(2026, 6, 30), "net_sales_minor", "USD", 1000),
        (date(2026, 7, 1), "net_sales_minor", "USD", 1000),
        (date(2026, 7, 1), "spend_minor", "EUR", 500),
        (date(2026, 7, 1), "orders", None, 5),
    ]
    blended = blend(rows, RATES)
    assert (blended.currency, blended.revenue, blended.spend, blended.orders) == ("EUR", 1700, 500, 5)
    lines = {line.metric: line for line in blended_lines(blended, blended, has_store=True, has_ads=True)}
    assert lines["mer"].current == Decimal("3.4") and lines["blended_cost_per_order_minor"].current == 100


def test_blend_without_a_rate_withholds_the_figure_and_names_the_rate() -> None:
    rows = [(date(2026, 8, 1), "net_sales_minor", "GBP", 1000), (date(2026, 8, 1), "spend_minor", "EUR", 250)]
    blended = blend(rows, RATES)
    assert blended.missing_rate is not None and "GBP" in blended.missing_rate
    lines = blended_lines(blended, blended, has_store=True, has_ads=True)
    assert all(line.current is None and "GBP" in (line.note or "") for line in lines)


def test_no_blended_figures_without_both_a_store_and_ads() -> None:
    blended = blend([], RATES)
    assert blended_lines(blended, blended, has_store=True, has_ads=False) == []


def test_a_count_of_people_says_why_a_range_has_none() -> None:
    assert "cannot be added up" in window_note(DateRange(date(2026, 8, 3), date(2026, 8, 12)))
    assert "not been read yet" in window_note(DateRange(date(2026, 8, 1), date(2026, 8, 30)))
