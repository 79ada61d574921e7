"""The ad platforms' connectors against the sandbox: every ad comes with its copy, and the ads' days add up
to their campaign's days exactly (spend, impressions, clicks, conversions, revenue)."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from results_testkit import SandboxControl, platform_connector, settings_for

from clientpulse.results_ingest.connectors.base import Credentials
from clientpulse.results_ingest.domain.periods import DateRange

WINDOW = DateRange(date(2026, 10, 1), date(2026, 11, 9))  # 40 days: TikTok needs two 30-day requests


@pytest.mark.parametrize(
    ("platform", "account"), [("meta_ads", "1001"), ("google_ads", "2002"), ("tiktok_ads", "3003")]
)
async def test_ads_carry_their_copy_and_add_up_to_their_campaigns(
    sandbox: SandboxControl, platform: str, account: str
) -> None:
    grant = sandbox.grant(platform)
    async with httpx.AsyncClient(timeout=10) as http:
        connector, _ = platform_connector(platform, settings_for(sandbox.url), http, Credentials(**grant), account)
        info = await connector.account_info()
        campaigns = await connector.campaign_days(WINDOW, info)
        ads = await connector.ad_creatives(WINDOW, info)
    assert ads, "no ads came back"
    assert len({(a.ad_id, a.day) for a in ads}) == len(ads), "an ad-day came back twice"
    assert all(a.bodies for a in ads), "an ad came without its primary text"
    if platform != "tiktok_ads":  # TikTok ads have no headline of their own
        assert all(a.headlines for a in ads), "an ad came without a headline"
    assert len({a.ad_id for a in ads}) > len({a.campaign_id for a in ads}), "every campaign has one ad only"
    summed: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for a in ads:
        totals = summed[(a.campaign_id, a.day)]
        for i, value in enumerate((a.spend_minor, a.impressions, a.clicks, a.conversions_e4, a.conversion_value_minor)):
            totals[i] += value
    expected = {
        (c.campaign_id, c.day): [c.spend_minor, c.impressions, c.clicks, c.conversions_e4, c.conversion_value_minor]
        for c in campaigns
    }
    assert dict(summed) == expected
    assert {a.currency for a in ads} == {info.currency}
