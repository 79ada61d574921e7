"""The pure results rules, table-tested at their boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from clientpulse.results_ingest.db.repositories.period_reach import ReachWindow
from clientpulse.results_ingest.domain.aggregation import (
    cpa_minor,
    ctr,
    frequency,
    is_fatigued,
    period_delta,
    roas,
)
from clientpulse.results_ingest.domain.periods import (
    DateRange,
    PeriodKind,
    last_complete_period,
    previous_range,
)
from clientpulse.results_ingest.domain.records import CampaignStatus, conversions_to_scaled
from clientpulse.results_ingest.domain.reporting import filled_series, reach_for_table, reach_note
from clientpulse.results_ingest.domain.sync import expiry_warning_due
from clientpulse.results_ingest.domain.windows import (
    backfill_range,
    is_standard_reach_window,
    reread_window,
    slices,
    standard_reach_windows,
)
from clientpulse.results_ingest.platforms import REGISTRY
from clientpulse.results_ingest.platforms.google_ads.statuses import google_status
from clientpulse.results_ingest.platforms.meta_ads.statuses import meta_status
from clientpulse.results_ingest.platforms.tiktok_ads.statuses import tiktok_status
from clientpulse.shared.money import (
    MoneyError,
    major_units,
    micros_to_minor_units,
    minor_unit_exponent,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("412.37", "USD", 41237),
        ("0.005", "USD", 0),  # half-even: 0.5 minor units round to the even 0
        ("0.015", "USD", 2),
        ("1500", "JPY", 1500),
        ("1500.5", "JPY", 1500),
        ("1.2345", "KWD", 1234),
        ("-3.10", "EUR", -310),
    ],
)
def test_amounts_become_minor_units_of_their_currency(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("micros", "currency", "minor"),
    [("268450000", "EUR", 26845), ("1193720000", "EUR", 119372), ("1500000000", "JPY", 1500), ("5000", "USD", 0)],
)
def test_google_micros_become_minor_units(micros: str, currency: str, minor: int) -> None:
    assert micros_to_minor_units(micros, currency) == minor


def test_minor_units_round_trip_exactly() -> None:
    assert major_units(41237, "USD") == Decimal("412.37")
    assert major_units(1234, "KWD") == Decimal("1.234")
    assert minor_unit_exponent("jpy") == 0


@pytest.mark.parametrize(("amount", "currency"), [("-", "USD"), ("abc", "USD"), ("1", "US"), ("NaN", "USD")])
def test_what_is_not_money_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        to_minor_units(amount, currency)


def test_ratios_come_from_sums() -> None:
    assert roas(150_000, 50_000) == Decimal(3)
    assert roas(100, 0) is None
    assert cpa_minor(50_000, Decimal(4)) == Decimal(12_500)
    assert cpa_minor(50_000, Decimal(0)) is None
    assert ctr(25, 1000) == Decimal("0.025")
    assert ctr(0, 0) is None


def test_frequency_over_seven_days_is_not_the_sum_of_daily_frequencies() -> None:
    # 7 days of 1,000 impressions to 500 people a day (daily frequency 2.0), mostly the same people:
    # the week reached 2,000 distinct people.
    daily = [frequency(1000, 500) for _ in range(7)]
    assert sum(d for d in daily if d is not None) == Decimal(14)
    assert frequency(7000, 2000) == Decimal("3.5")
    assert frequency(7000, None) is None
    assert frequency(7000, 0) is None


@pytest.mark.parametrize(
    ("seven_day_frequency", "fatigued"),
    [(Decimal("3.0"), False), (Decimal("3.0001"), True), (Decimal("2.99"), False), (Decimal(4), True), (None, False)],
)
def test_fatigue_starts_above_three(seven_day_frequency: Decimal | None, fatigued: bool) -> None:
    assert is_fatigued(seven_day_frequency) is fatigued


@pytest.mark.parametrize(
    ("current", "previous", "absolute", "relative"),
    [
        (120, 100, Decimal(20), Decimal("0.2")),
        (80, 100, Decimal(-20), Decimal("-0.2")),
        (50, 0, Decimal(50), None),
        (0, 0, Decimal(0), None),
        (None, 10, None, None),
    ],
)
def test_period_over_period_delta(
    current: int | None, previous: int, absolute: Decimal | None, relative: Decimal | None
) -> None:
    delta = period_delta(current, previous)
    assert delta.absolute == absolute
    assert delta.relative == relative


@pytest.mark.parametrize(
    ("kind", "today", "current", "previous"),
    [
        (
            PeriodKind.WEEK,
            date(2026, 11, 25),
            (date(2026, 11, 16), date(2026, 11, 22)),
            (date(2026, 11, 9), date(2026, 11, 15)),
        ),
        (
            PeriodKind.WEEK,
            date(2026, 11, 23),
            (date(2026, 11, 16), date(2026, 11, 22)),
            (date(2026, 11, 9), date(2026, 11, 15)),
        ),
        (
            PeriodKind.MONTH,
            date(2026, 3, 1),
            (date(2026, 2, 1), date(2026, 2, 28)),
            (date(2026, 1, 1), date(2026, 1, 31)),
        ),
        (
            PeriodKind.MONTH,
            date(2026, 1, 15),
            (date(2025, 12, 1), date(2025, 12, 31)),
            (date(2025, 11, 1), date(2025, 11, 30)),
        ),
        (
            PeriodKind.QUARTER,
            date(2026, 4, 1),
            (date(2026, 1, 1), date(2026, 3, 31)),
            (date(2025, 10, 1), date(2025, 12, 31)),
        ),
        (
            PeriodKind.YEAR,
            date(2026, 12, 31),
            (date(2025, 1, 1), date(2025, 12, 31)),
            (date(2024, 1, 1), date(2024, 12, 31)),
        ),
    ],
)
def test_last_complete_period_and_the_one_before(
    kind: PeriodKind, today: date, current: tuple[date, date], previous: tuple[date, date]
) -> None:
    got_current, got_previous = last_complete_period(kind, today)
    assert (got_current.start, got_current.end) == current
    assert (got_previous.start, got_previous.end) == previous


def test_a_custom_range_compares_with_the_same_number_of_days_before() -> None:
    assert previous_range(DateRange(date(2026, 3, 10), date(2026, 3, 19))) == DateRange(
        date(2026, 2, 28), date(2026, 3, 9)
    )


@pytest.mark.parametrize(
    ("status", "badge"),
    [
        ("ACTIVE", CampaignStatus.ACTIVE),
        ("PAUSED", CampaignStatus.PAUSED),
        ("DELETED", CampaignStatus.ARCHIVED),
        ("ARCHIVED", CampaignStatus.ARCHIVED),
        ("UNKNOWN", None),
    ],
)
def test_meta_statuses(status: str, badge: CampaignStatus | None) -> None:
    assert meta_status(status) is badge


def test_google_and_tiktok_statuses() -> None:
    assert google_status("ENABLED") is CampaignStatus.ACTIVE
    assert google_status("REMOVED") is CampaignStatus.ARCHIVED
    assert tiktok_status("ENABLE", "CAMPAIGN_STATUS_BUDGET_EXCEED") is CampaignStatus.ACTIVE
    assert tiktok_status("DISABLE", "CAMPAIGN_STATUS_DISABLE") is CampaignStatus.PAUSED
    assert tiktok_status("ENABLE", "CAMPAIGN_STATUS_DELETE") is CampaignStatus.ARCHIVED


def test_slices_cover_a_backfill_exactly_once() -> None:
    window = backfill_range(90, date(2026, 11, 25))
    assert window == DateRange(date(2026, 8, 27), date(2026, 11, 24))
    parts = slices(window, 30)
    assert [p.days for p in parts] == [30, 30, 30]
    assert parts[0].start == window.start and parts[-1].end == window.end
    seven = slices(DateRange(date(2026, 1, 1), date(2026, 1, 10)), 7)
    assert [(p.start.day, p.end.day) for p in seven] == [(1, 7), (8, 10)]


def test_each_platform_rereads_its_trailing_window_up_to_yesterday() -> None:
    meta = reread_window(REGISTRY.get("meta_ads").reread_days, date(2026, 11, 25))
    assert (meta.start, meta.end, meta.days) == (date(2026, 10, 28), date(2026, 11, 24), 28)
    assert reread_window(REGISTRY.get("tiktok_ads").reread_days, date(2026, 11, 25)).days == 7
    assert reread_window(REGISTRY.get("google_ads").reread_days, date(2026, 11, 25)).days == 14


def test_a_sync_stores_reach_for_the_standard_windows() -> None:
    today = date(2026, 12, 5)  # a Saturday
    windows = standard_reach_windows(today)
    assert [(w.start, w.end) for w in windows] == [
        (date(2026, 11, 28), date(2026, 12, 4)),  # last 7 days
        (date(2026, 11, 21), date(2026, 12, 4)),  # last 14 days
        (date(2026, 11, 5), date(2026, 12, 4)),  # last 30 days
        (date(2026, 10, 6), date(2026, 12, 4)),  # last 60 days
        (date(2026, 9, 6), date(2026, 12, 4)),  # last 90 days
        (date(2026, 11, 23), date(2026, 11, 29)),  # last complete week (Monday to Sunday)
        (date(2026, 11, 1), date(2026, 11, 30)),  # last complete month
        (date(2026, 7, 1), date(2026, 9, 30)),  # last complete quarter
    ]
    assert all(is_standard_reach_window(w) for w in windows)
    assert not is_standard_reach_window(DateRange(date(2026, 11, 3), date(2026, 11, 30)))  # 28 days
    assert is_standard_reach_window(DateRange(date(2026, 2, 1), date(2026, 2, 28)))  # a whole month


def test_a_campaign_without_reach_says_why() -> None:
    odd = DateRange(date(2026, 11, 3), date(2026, 11, 30))
    month = DateRange(date(2026, 11, 1), date(2026, 11, 30))
    assert "none of them" in reach_note("meta_ads", odd, connection_has_window=False)
    assert "not been read yet" in reach_note("meta_ads", month, connection_has_window=False)
    assert "no reach for this campaign" in reach_note("google_ads", month, connection_has_window=True)


@pytest.mark.parametrize(
    ("days_left", "renewable", "warned", "due"),
    [
        (6.9, False, False, True),  # within the week, cannot renew: tell the DM
        (7.0, False, False, True),  # exactly seven days ahead
        (7.1, False, False, False),  # not yet
        (3, True, False, False),  # a refresh token renews it
        (3, False, True, False),  # this ending was announced already
        (3, False, "seconds later", False),  # the same ending, as a renewal that could not extend it reports it
        (-1, False, False, False),  # already over: the connection is expired, not expiring
    ],
)
def test_the_dm_hears_of_an_ending_token_once_a_week_ahead(
    days_left: float, renewable: bool, warned: bool | str, due: bool
) -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    expires = now + timedelta(days=days_left)
    announced = {True: expires, "seconds later": expires - timedelta(seconds=2), False: None}[warned]
    assert expiry_warning_due(expires, renewable, announced, now, 7) is due


def test_fractional_conversions_are_stored_exactly() -> None:
    assert conversions_to_scaled("37.5") == 375_000
    assert conversions_to_scaled(61.33) == 613_300


def test_the_table_reads_the_exact_window_reach_and_the_newest_week_ending_in_its_last_week() -> None:
    window = DateRange(date(2026, 8, 1), date(2026, 10, 29))

    def reach(start: date, end: date, impressions: int, people: int, campaign: str = "c1") -> ReachWindow:
        return ReachWindow("conn", campaign, start, end, impressions, people)

    exact, weekly = reach_for_table(
        [
            reach(window.start, window.end, 90_000, 30_000),  # the whole window
            reach(date(2026, 10, 16), date(2026, 10, 22), 7_000, 3_500),  # an older week
            reach(date(2026, 10, 23), date(2026, 10, 29), 9_000, 2_000),  # the newest week
            reach(date(2026, 10, 22), date(2026, 10, 29), 9_500, 2_100),  # eight days: not a week
            reach(date(2026, 10, 14), date(2026, 10, 20), 9_000, 1_000, "c2"),  # ends 9 days before: too old
        ],
        window,
    )
    assert exact == {("conn", "c1"): 30_000}
    assert weekly == {("conn", "c1"): (9_000, 2_000)}


def test_the_sparkline_has_a_value_for_every_day_of_the_window() -> None:
    assert filled_series([3, 0, 1], [30, 5, 10], 5) == [5, 10, 0, 30, 0]
    assert filled_series([], [], 3) == [0, 0, 0]
