"""Creative facts from ads' numbers, and a model's observations checked against them (table-driven)."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from creatives_standin import INJECTION, halves

from clientpulse.insights.domain.ad_copy import AdResult, ad_facts, creative_facts, merge_halves
from clientpulse.insights.domain.ad_copy_review import (
    CREATIVES_SYSTEM_PROMPT,
    check_review,
    deterministic_review,
    review_facts,
    review_prompt,
)


def _facts() -> tuple[list, list]:
    first, second = halves()
    ads = ad_facts(merge_halves([AdResult(**a) for a in first], [AdResult(**a) for a in second]))
    return ads, creative_facts(ads)


def test_the_facts_name_best_and_weakest_ads_shared_words_copy_length_and_fatigue() -> None:
    ads, facts = _facts()
    by_kind = {f.kind: f for f in facts}
    assert by_kind["best_roas"].ad_ids == ["6001", "6002"]
    assert by_kind["best_roas"].figures == {"6001_roas": Decimal("5.00"), "6002_roas": Decimal("4.00")}
    assert by_kind["worst_roas"].ad_ids == ["6004", "6003"]
    assert by_kind["headline_pattern"].word == "linen" and by_kind["headline_pattern"].ad_ids == ["6001", "6002"]
    assert by_kind["fatigue"].ad_ids == ["6002"]
    assert by_kind["fatigue"].figures["ctr_drop"] == Decimal("0.6650")  # from the CTRs as shown: 2.00% and 0.67%
    length = by_kind["copy_length"].figures
    assert length["long_ads"] == 1 and length["short_ads"] == 3 and length["long_roas"] == Decimal("4.00")
    assert [f.id for f in facts] == [f"C{i}" for i in range(1, len(facts) + 1)]
    ad = next(a for a in ads if a.ad_id == "6001")
    assert (ad.spend_minor, ad.revenue_minor, ad.roas, ad.ctr) == (80000, 400000, Decimal("5.00"), Decimal("0.0200"))


@pytest.mark.parametrize(
    ("share_impressions", "judged"), [((0.05, 1000), True), ((0.0499, 1000), False), ((0.05, 999), False)]
)
def test_an_ad_is_judged_from_a_five_percent_spend_share_and_1000_impressions(
    share_impressions: tuple[float, int], judged: bool
) -> None:
    share, impressions = share_impressions
    small = int(share * 10000)
    rows = [
        AdResult(connection_id="k", platform="meta_ads", campaign_id="c", ad_id="big", currency="EUR",
                 spend_minor=10000 - small, impressions=50000, clicks=10, conversions=Decimal(1), revenue_minor=1),
        AdResult(connection_id="k", platform="meta_ads", campaign_id="c", ad_id="small", currency="EUR",
                 spend_minor=small, impressions=impressions, clicks=10, conversions=Decimal(1), revenue_minor=1),
    ]  # fmt: skip
    ads = ad_facts(merge_halves(rows, []))
    assert next(a for a in ads if a.ad_id == "small").judged is judged


def test_the_copy_is_data_in_the_user_message_never_in_the_instructions() -> None:
    ads, facts = _facts()
    messages = review_prompt(review_facts("c-1", date(2026, 11, 1), date(2026, 11, 28), ads, facts))
    assert messages[0] == {"role": "system", "content": CREATIVES_SYSTEM_PROMPT}
    assert INJECTION not in messages[0]["content"]
    document = json.loads(messages[1]["content"])
    assert INJECTION in next(a["bodies"] for a in document["ads"] if a["ad_id"] == "6003")


def _reply(text: str, ad_ids: list[str] | None = None, fact_ids: list[str] | None = None) -> str:
    return json.dumps({
        "observations": [{"text": text, "ad_ids": ad_ids or ["6001"], "fact_ids": fact_ids or ["C1"]}],
        "suggestions": [{"ad_id": "6004", "text": "Lead with the offer, as ad 6001 does.", "fact_ids": ["C2"]}],
    })  # fmt: skip


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_reply('Ad 6001 returns ROAS 5.00 with "Linen Shirts 20% Off"; its CTR is 2.00%.'), ""),
        (_reply("Ad 6001 returns ROAS 7.35."), "changed_number"),
        (_reply("Every ad reports ROAS 99, as its copy says."), "changed_number"),
        (_reply("Ad 9999 is the best.", ad_ids=["9999"]), "unknown_id"),
        (_reply("Ad 6001 is the best.", fact_ids=["C99"]), "unknown_id"),
        ("Sure! The copy looks great.", "invalid_json"),
        (json.dumps({"observations": []}), "schema_mismatch"),
    ],
)
def test_a_models_review_is_refused_unless_it_keeps_to_the_facts(content: str, reason: str) -> None:
    ads, facts = _facts()
    document = review_facts("c-1", date(2026, 11, 1), date(2026, 11, 28), ads, facts)
    reply, found, _ = check_review(content, document)
    assert found == reason
    assert (reply is None) is bool(reason)


def test_the_deterministic_review_suggests_tests_for_the_weakest_and_refreshes_for_fatigue() -> None:
    _, facts = _facts()
    observations, suggestions = deterministic_review(facts)
    assert len(observations) == len(facts)
    assert {(s.ad_id, s.text.split(":")[0].split(" ")[0]) for s in suggestions} == {
        ("6004", "Test"), ("6003", "Test"), ("6002", "Refresh"),
    }  # fmt: skip
    assert all(INJECTION not in o.text for o in observations)
