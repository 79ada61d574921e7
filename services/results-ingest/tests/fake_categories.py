"""Platforms of other categories that exist only in the tests: a store in US dollars that cannot read
orders older than 60 days, a subscription platform whose active count is a level, and an analytics
property that counts users per window. Their numbers are fixed per day, so a test can add them up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from clientpulse.results_ingest.connectors.base import ConnectorContext, ConnectorDefaults, PlatformError
from clientpulse.results_ingest.domain.catalogue import STORE_METRICS, SUBSCRIPTION_METRICS, TRAFFIC_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountInfo, Breakdown, MetricDay, WindowFigure
from clientpulse.results_ingest.platforms.spec import ApiKeyAuth, ConnectionTarget, PlatformSettings, PlatformSpec

STORE_DAY = {  # one day of the store, in US cents
    "gross_sales_minor": 10_000,
    "discounts_minor": 1_000,
    "returns_minor": 500,
    "net_sales_minor": 8_500,
    "orders": 4,
    "new_customer_orders": 1,
    "returning_customer_orders": 3,
}
STORE_HISTORY_DAYS = 60


def days_of(window: DateRange) -> list[date]:
    return [window.start + timedelta(days=n) for n in range(window.days)]


def active_on(day: date) -> int:
    """The fake subscription platform's active count at the end of ``day``."""
    return 100 + day.day


class FakeStore(ConnectorDefaults):
    async def account_info(self) -> AccountInfo:
        return AccountInfo("shop-1", "Fake shop", "USD", "America/New_York")

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        oldest = datetime.now(UTC).date() - timedelta(days=STORE_HISTORY_DAYS)
        if window.start < oldest:
            raise PlatformError(f"orders before {oldest} need the read_all_orders scope, which was not granted")
        money = {k for k in STORE_DAY if k.endswith("_minor")}
        return [
            MetricDay(day, key, value, "USD" if key in money else None)
            for day in days_of(window)
            for key, value in STORE_DAY.items()
        ]


class FakeSubscriptions(ConnectorDefaults):
    async def account_info(self) -> AccountInfo:
        return AccountInfo("subs-1", "Fake subscriptions", "USD", "UTC")

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        rows = []
        for day in days_of(window):
            rows += [
                MetricDay(day, "active_subscriptions", active_on(day)),
                MetricDay(day, "subscriptions_created", 3),
                MetricDay(day, "subscriptions_cancelled", 2),
                MetricDay(day, "charges", 5),
                MetricDay(day, "recurring_revenue_minor", 2_500, "USD"),
            ]
        return rows


class FakeTraffic(ConnectorDefaults):
    async def account_info(self) -> AccountInfo:
        return AccountInfo("123", "Fake property", "EUR", "Europe/Berlin")

    async def metric_days(self, window: DateRange, account: AccountInfo) -> list[MetricDay]:
        rows = []
        for day in days_of(window):
            rows += [MetricDay(day, "sessions", 50), MetricDay(day, "engaged_sessions", 30)]
            rows += [
                MetricDay(day, "sessions", 20, breakdown=Breakdown("channel_group", "Paid Search", "Paid Search")),
                MetricDay(
                    day, "sessions", 30, breakdown=Breakdown("channel_group", "Organic Search", "Organic Search")
                ),
            ]
        return rows

    async def window_figures(self, windows: Sequence[DateRange], account: AccountInfo) -> list[WindowFigure]:
        return [WindowFigure(w.start, w.end, "total_users", 1000 + w.days) for w in windows]


class NoSettings(PlatformSettings):
    pass


def _spec(key: str, name: str, connector: type[ConnectorDefaults], metrics: tuple) -> PlatformSpec[NoSettings]:
    def build(ctx: ConnectorContext, settings: NoSettings, target: ConnectionTarget) -> ConnectorDefaults:
        return connector()

    return PlatformSpec(
        key=key,
        name=name,
        settings_model=NoSettings,
        auth=ApiKeyAuth(),
        reread_days=3,
        slice_days=30,
        metrics=metrics,
        campaign_status=lambda raw: None,
        connector=build,  # type: ignore[arg-type]
        reports_reach=False,
    )


PLATFORMS = (
    _spec("fake_store", "Fake Store", FakeStore, STORE_METRICS),
    _spec("fake_subscriptions", "Fake Subscriptions", FakeSubscriptions, SUBSCRIPTION_METRICS),
    _spec("fake_traffic", "Fake Traffic", FakeTraffic, TRAFFIC_METRICS),
)
