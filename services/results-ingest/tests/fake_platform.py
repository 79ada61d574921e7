"""A fourth platform that exists only in the tests: proof that a platform is one module and one
registry line. It reads its account from a loopback HTTP imitation and makes up its campaign days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import ClassVar

from clientpulse.results_ingest.connectors.base import ConnectorContext, ConnectorDefaults, call_with_retries, json_body
from clientpulse.results_ingest.domain.catalogue import ADVERTISING_METRICS
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import AccountChoice, AccountInfo, CampaignDay, CampaignStatus
from clientpulse.results_ingest.platforms.spec import ApiKeyAuth, ConnectionTarget, PlatformSettings, PlatformSpec

CAMPAIGNS = ("f-1", "f-2")


class FakeAdsSettings(PlatformSettings):
    sandbox_paths: ClassVar[Mapping[str, str]] = {"base_url": "/fake"}

    base_url: str = "https://fake-ads.invalid"


class FakeAdsConnector(ConnectorDefaults):
    def __init__(self, ctx: ConnectorContext, settings: FakeAdsSettings, account_id: str) -> None:
        self.ctx, self.settings, self.account_id = ctx, settings, account_id

    async def account_info(self) -> AccountInfo:
        async def send():  # type: ignore[no-untyped-def]
            return await self.ctx.http.get(f"{self.settings.base_url}/accounts/{self.account_id}")

        body = await call_with_retries(
            self.ctx, send, lambda r: json_body(r, "fake"), None, what="fake account", platform="fake_ads"
        )
        return AccountInfo(self.account_id, body["name"], body["currency"], body["time_zone"])

    async def campaign_days(self, window: DateRange, account: AccountInfo) -> list[CampaignDay]:
        return [
            CampaignDay(
                campaign_id=campaign,
                day=window.start + timedelta(days=offset),
                campaign_name=f"Fake {campaign}",
                status=CampaignStatus.ACTIVE,
                status_raw="on",
                currency=account.currency,
                spend_minor=1000,
                impressions=500,
                clicks=5,
                conversions_e4=10_000,
                conversion_value_minor=3000,
                reach_daily=400,
            )
            for offset in range(window.days)
            for campaign in CAMPAIGNS
        ]

    async def period_reach(self, window: DateRange) -> dict[str, tuple[int, int]]:
        return {campaign: (300 + 10 * window.days, 500 * window.days) for campaign in CAMPAIGNS}

    async def accessible_accounts(self) -> list[AccountChoice]:
        return [AccountChoice(self.account_id, "Fake", "EUR", "UTC")]


def _connector(ctx: ConnectorContext, settings: FakeAdsSettings, target: ConnectionTarget) -> FakeAdsConnector:
    return FakeAdsConnector(ctx, settings, target.account_id)


PLATFORM = PlatformSpec(
    key="fake_ads",
    name="Fake Ads",
    settings_model=FakeAdsSettings,
    auth=ApiKeyAuth(),
    reread_days=3,
    slice_days=10,
    metrics=ADVERTISING_METRICS,
    campaign_status=lambda raw: CampaignStatus.ACTIVE if raw == "on" else None,
    connector=_connector,
)
