"""Each connector parses every documented sample of its platform (the copies kept in ``tests/samples``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from clientpulse.results_ingest.connectors.base import Throttled, TokenExpired
from clientpulse.results_ingest.domain.records import CampaignStatus
from clientpulse.results_ingest.platforms.google_ads import connector as google_ads
from clientpulse.results_ingest.platforms.meta_ads import connector as meta
from clientpulse.results_ingest.platforms.meta_ads.statuses import meta_status
from clientpulse.results_ingest.platforms.tiktok_ads import connector as tiktok
from clientpulse.results_ingest.platforms.tiktok_ads.statuses import tiktok_status

# The platforms' documented answers, copies kept in the repository with the tests.
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def as_response(name: str) -> httpx.Response:
    recorded = sample(name)["response"]
    headers = {k: v for k, v in recorded["headers"].items() if k.lower() != "content-type"}
    return httpx.Response(recorded["status"], json=recorded["body"], headers=headers)


def test_every_ad_platform_sample_is_covered_here() -> None:
    names = {p.stem for p in SAMPLES.glob("*.json") if p.stem.split("__")[0] in {"meta", "google_ads", "tiktok"}}
    covered = {
        "meta__insights_campaign_daily_page1",
        "meta__insights_throttled_80000",
        "meta__token_expired_190",
        "meta__ads_with_creative_headline",
        "meta__campaigns_effective_status",
        "google_ads__search_stream_campaign_daily",
        "google_ads__search_page1_next_page_token",
        "google_ads__search_stream_resource_exhausted",
        "google_ads__oauth_token_refresh",
        "tiktok__report_campaign_daily_page1",
        "tiktok__rate_limited_40100",
        "tiktok__campaign_get",
    }
    assert names == covered


def meta_interpret(response: httpx.Response) -> dict[str, Any]:
    return meta.interpret(response, app_pause_seconds=300)


def test_meta_insights_page_counts_one_purchase_type_and_follows_next() -> None:
    body = meta_interpret(as_response("meta__insights_campaign_daily_page1"))
    rows, following = meta.parse_insights_page(body)
    assert [(r.day, r.spend_minor, r.impressions, r.clicks) for r in rows] == [
        (date(2025, 6, 1), 41237, 38211, 1044),
        (date(2025, 6, 2), 39805, 36540, 973),
    ]
    # 18 purchases appear under three action types: counted once.
    assert rows[0].conversions_e4 == 18 * 10_000
    assert rows[0].conversion_value_minor == 148620
    assert rows[0].reach == 29874 and rows[0].currency == "USD"
    assert following is not None and "after=MQZDZD" in following


def test_meta_throttle_and_expired_token_samples() -> None:
    response = as_response("meta__insights_throttled_80000")
    with pytest.raises(Throttled) as throttled:
        meta_interpret(response)
    assert "too many calls" in str(throttled.value)
    assert throttled.value.signal == "meta_80000"
    # The sample's business-use-case header names the wait (minutes), in seconds here.
    assert throttled.value.wait == meta.regain_seconds(response)
    with pytest.raises(TokenExpired) as expired:
        meta_interpret(as_response("meta__token_expired_190"))
    assert "Session has expired" in str(expired.value)


def test_meta_headline_rule_and_statuses() -> None:
    headlines = meta.parse_ad_headlines(meta_interpret(as_response("meta__ads_with_creative_headline")))
    assert headlines == {"120210000000000001": "Summer Linen Shirts - 20% Off"}
    dynamic = sample("meta__ads_with_creative_headline")["response"]["body"]["data"][1]["creative"]
    assert meta.headline_of(dynamic) == "Summer Linen Shirts - 20% Off"
    statuses = meta.parse_campaign_statuses(meta_interpret(as_response("meta__campaigns_effective_status")))
    assert {k: meta_status(v) for k, v in statuses.items()} == {
        "120210000000000001": CampaignStatus.ACTIVE,
        "120210000000000002": CampaignStatus.ACTIVE,
        "120210000000000003": CampaignStatus.PAUSED,
    }


def test_google_search_stream_reads_every_batch_in_micros() -> None:
    rows = google_ads.parse_search_stream(google_ads.interpret(as_response("google_ads__search_stream_campaign_daily")))
    assert len(rows) == 4
    brand = rows[0]
    assert (brand.campaign_id, brand.day, brand.currency, brand.spend_minor) == (
        "20123456789",
        date(2025, 6, 1),
        "EUR",
        26845,
    )
    assert brand.conversions_e4 == 375_000 and brand.conversion_value_minor == 523418
    assert rows[2].status is CampaignStatus.PAUSED and rows[2].spend_minor == 0
    assert rows[3].day == date(2025, 6, 2) and rows[3].spend_minor == 25190


def test_google_search_page_has_a_next_page_token() -> None:
    rows, token = google_ads.parse_search_page(
        google_ads.interpret(as_response("google_ads__search_page1_next_page_token"))
    )
    assert len(rows) == 3 and token and token.startswith("CPii5a")
    assert google_ads.parse_row(rows[1]).spend_minor == 119372


def test_google_resource_exhausted_carries_its_retry_delay() -> None:
    with pytest.raises(Throttled) as throttled:
        google_ads.interpret(as_response("google_ads__search_stream_resource_exhausted"))
    assert throttled.value.wait == 8962.0


def test_google_token_refresh_answer_is_understood() -> None:
    body = google_ads.interpret_token_answer(as_response("google_ads__oauth_token_refresh"))
    assert body["access_token"].startswith("ya29.") and body["expires_in"] == 3599


def test_tiktok_report_page_reads_dashes_as_no_data() -> None:
    rows, page, total = tiktok.parse_report_page(
        tiktok.interpret(as_response("tiktok__report_campaign_daily_page1")), "USD"
    )
    assert (page, total) == (1, 2)
    first, second = rows
    assert (first.day, first.spend_minor, first.impressions, first.reach) == (date(2025, 6, 1), 21536, 48210, 39377)
    assert first.conversions_e4 == 23 * 10_000
    # The amount TikTok reports, not 2.41 × 215.36 = 519.02 rebuilt from the rounded ROAS.
    assert first.conversion_value_minor == 51907
    assert second.conversion_value_minor == 0  # "-"


def test_tiktok_revenue_is_never_rebuilt_from_the_ratio() -> None:
    body = {
        "code": 0,
        "data": {
            "list": [
                {
                    "dimensions": {"campaign_id": "1", "stat_time_day": "2025-06-01 00:00:00"},
                    # A ROAS of "0" (rounded down) beside a real purchase value.
                    "metrics": {"spend": "900.00", "complete_payment_roas": "0", "total_complete_payment_rate": "3.10"},
                },
                {
                    "dimensions": {"campaign_id": "2", "stat_time_day": "2025-06-01 00:00:00"},
                    # Only the ratio came back: no amount is made up from it.
                    "metrics": {"spend": "100.00", "complete_payment_roas": "2.00"},
                },
            ],
            "page_info": {"page": 1, "total_page": 1},
        },
    }
    rows, _, _ = tiktok.parse_report_page(body, "JPY")
    assert [r.conversion_value_minor for r in rows] == [3, 0]
    assert "total_complete_payment_rate" in tiktok.DAILY_METRICS
    assert "complete_payment_roas" not in tiktok.DAILY_METRICS


def test_tiktok_throttling_is_a_200_with_code_40100() -> None:
    response = as_response("tiktok__rate_limited_40100")
    assert response.status_code == 200
    with pytest.raises(Throttled):
        tiktok.interpret(response)


def test_tiktok_campaign_statuses() -> None:
    found, _, total = tiktok.parse_campaigns(tiktok.interpret(as_response("tiktok__campaign_get")))
    assert total == 1
    assert {k: tiktok_status(*v) for k, v in found.items()} == {
        "1801234567890123": CampaignStatus.ACTIVE,
        "1801234567890456": CampaignStatus.ACTIVE,
        "1801234567890789": CampaignStatus.PAUSED,
    }
