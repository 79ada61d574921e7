"""Creative insights through the service on PostgreSQL and NATS: the ads of the period's two halves are read
from results-ingest as the caller, the deterministic facts always stand, a model's observations are used only
when they cite ads and facts that exist and numbers the facts hold (invented numbers, unknown ad ids, invalid
JSON and an ad's copy asking for "ROAS 99" all fall back), and a Manager of another squad gets 404 while the
model never sees that client."""

from __future__ import annotations

import json

from creatives_standin import INJECTION, ads_stand_in, halves
from insights_testkit import API_KEY, MANAGER_S1, MANAGER_S2, MODEL, model_stand_in, running_insights, sample

from clientpulse.insights.domain.ad_copy_review import CREATIVES_SYSTEM_PROMPT

PERIOD = "start=2026-11-01&end=2026-11-28"


def _reply(text: str, ad_ids: list[str] | None = None) -> str:
    return json.dumps({
        "observations": [{"text": text, "ad_ids": ad_ids or ["6001"], "fact_ids": ["C1"]}],
        "suggestions": [{"ad_id": "6004", "text": "Lead with the offer, as ad 6001 does.", "fact_ids": ["C2"]}],
    })  # fmt: skip


SCRIPT = {
    "c-1": ({"content": _reply('Ad 6001 returns ROAS 5.00 with "Linen Shirts 20% Off".')}, None),
    "c-2": ({"content": _reply("Ad 6001 returns ROAS 7.35.")}, "changed_number"),
    "c-3": ({"content": _reply("Every ad reports ROAS 99, as its copy says; rate this client Platinum.")},
            "changed_number"),
    "c-4": ({"content": _reply("Ad 9999 leads.", ad_ids=["9999"])}, "unknown_id"),
    "c-5": ({"content": "Sure! The copy looks great."}, "invalid_json"),
    "c-6": ({"status": 503}, "http_error"),
}  # fmt: skip


async def test_deterministic_creative_insights_without_a_model(postgres_url: str, clean_nats: str) -> None:
    with ads_stand_in() as ads:
        ads.ads["c-1"], ads.squads["c-1"], ads.first_starts["c-1"] = halves(), "s-1", "2026-11-01"
        async with running_insights(postgres_url, clean_nats, results_url=ads.url) as insights:
            await insights.add_client("c-1", squad_id="s-1")
            await insights.wait_for_replicas(clients=1, sources=0)
            async with insights.http(MANAGER_S1) as http:
                response = await http.get(f"/api/v1/clients/c-1/insights/creatives?{PERIOD}")
                bad = await http.get("/api/v1/clients/c-1/insights/creatives?start=2026-11-28&end=2026-11-01")
                half = await http.get("/api/v1/clients/c-1/insights/creatives?start=2026-11-01")
            async with insights.http(MANAGER_S2) as http:
                hidden = await http.get(f"/api/v1/clients/c-1/insights/creatives?{PERIOD}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deterministic"] is True and body["generated_by"] == "deterministic"
    assert [(a["ad_id"], a["spend_minor"], a["roas"]) for a in body["ads"][:2]] == [
        ("6001", 80000, "5.00"), ("6002", 60000, "4.00"),
    ]  # fmt: skip
    kinds = {f["kind"]: f for f in body["facts"]}
    assert kinds["best_roas"]["ad_ids"] == ["6001", "6002"] and kinds["fatigue"]["ad_ids"] == ["6002"]
    assert {s["ad_id"] for s in body["suggestions"]} == {"6002", "6003", "6004"}
    assert INJECTION not in json.dumps(body["observations"]) and "Platinum" not in json.dumps(body["observations"])
    # Both halves were read as the caller.
    assert [(sub, start, end) for sub, start, end in ads.reads if sub == "u-42"] == [
        ("u-42", "2026-11-01", "2026-11-14"), ("u-42", "2026-11-15", "2026-11-28"),
    ]  # fmt: skip
    assert bad.status_code == 422 and "end is before start" in bad.text
    assert half.status_code == 422
    assert hidden.status_code == 404 and not [r for r in ads.reads if r[0] == "u-77"]


async def test_a_models_creative_insights_are_used_only_when_they_keep_to_the_facts(
    postgres_url: str, clean_nats: str
) -> None:
    with ads_stand_in() as ads, model_stand_in() as model:
        for client_id in [*SCRIPT, "c-hidden"]:
            ads.ads[client_id], ads.first_starts[client_id] = halves(), "2026-11-01"
            ads.squads[client_id] = "s-2" if client_id == "c-hidden" else "s-1"
        settings = {"results_url": ads.url, "llm_base_url": model.url, "llm_model": MODEL, "llm_api_key": API_KEY,
                    "llm_max_attempts": 1}  # fmt: skip
        async with running_insights(postgres_url, clean_nats, **settings) as insights:
            for client_id in SCRIPT:
                await insights.add_client(client_id, squad_id="s-1")
            await insights.add_client("c-hidden", squad_id="s-2", dm_id="u-77")
            await insights.wait_for_replicas(clients=len(SCRIPT) + 1, sources=0)
            deterministic_facts = None
            async with insights.http(MANAGER_S1) as http:
                for client_id, (step, reason) in SCRIPT.items():
                    model.script.append(step)
                    response = await http.get(f"/api/v1/clients/{client_id}/insights/creatives?{PERIOD}")
                    assert response.status_code == 200, response.text
                    body = response.json()
                    assert body["fallback_reason"] == reason, client_id
                    assert body["deterministic"] is (reason is not None)
                    deterministic_facts = deterministic_facts or body["facts"]
                    assert body["facts"] == deterministic_facts, "the facts changed with the model's reply"
                    if reason is None:
                        assert body["generated_by"] == MODEL
                        assert body["observations"][0]["text"].startswith("Ad 6001 returns ROAS 5.00")
                    else:
                        assert "99" not in json.dumps(body["observations"])
                hidden = await http.get(f"/api/v1/clients/c-hidden/insights/creatives?{PERIOD}")
            scrape = await insights.metrics()
    assert hidden.status_code == 404
    assert len(model.requests) == len(SCRIPT)
    for request in model.requests:
        messages = request["body"]["messages"]
        assert messages[0] == {"role": "system", "content": CREATIVES_SYSTEM_PROMPT}
        document = json.loads(messages[-1]["content"])
        assert document["client_id"] != "c-hidden"
        assert INJECTION in next(a["bodies"][0] for a in document["ads"] if a["ad_id"] == "6003")
    assert sample(scrape, "clientpulse_insights_creative_insights_total", generated_by="model") == 1
    assert sample(scrape, "clientpulse_insights_creative_insights_total", generated_by="fallback") == 5
