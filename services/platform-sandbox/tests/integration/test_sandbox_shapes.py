"""The sandbox answers each documented sample's request with the sample's shape: the same keys (the
sandbox may add some) and the same JSON types, including the error and throttling answers."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from sandbox_testkit import SandboxControl

from clientpulse.platform_sandbox.imitations.klaviyo import DEMO_ACCOUNT as KLAVIYO_DEMO_ACCOUNT

# The documented exchanges results-ingest's connectors are tested against: the sandbox imitates the same platforms.
SAMPLES = Path(__file__).resolve().parents[3] / "results-ingest" / "tests" / "samples"
PREFIX = {
    "graph.facebook.com": "/meta",
    "googleads.googleapis.com": "/google-ads",
    "oauth2.googleapis.com": "/google-oauth",
    "business-api.tiktok.com": "/tiktok",
    "example-store.gorgias.com": "/gorgias/example-store",
    "api.rechargeapps.com": "/recharge",
    "a.klaviyo.com": "/klaviyo",
    "analyticsdata.googleapis.com": "/ga4/data",
    "example-store.myshopify.com": "/shopify/example-store",
    "loyalty.yotpo.com": "/yotpo",
}
# Keys a sample shows that the sandbox leaves out on purpose (values it does not model).
OPTIONAL = {
    "purchase_roas",
    "budget_remaining",
    "daily_budget",
    "lifetime_budget",
    "start_time",
    "stop_time",
    "created_time",
    "updated_time",
    "is_new_structure",
    "create_time",
    "modify_time",
    "campaign_type",
    "description",
    "image_hash",
    "call_to_action",
    "bodies",
    "descriptions",
    "link_urls",
    "images",
    "call_to_action_types",
    "ad_formats",
    "body",
    "ctr",
    "frequency",
    "fbtrace_id",
    "points_expire_at",
    "referral_code",
}
FAULTS = {
    "meta__insights_throttled_80000": "throttle",
    "meta__token_expired_190": "expired_token",
    "google_ads__search_stream_resource_exhausted": "throttle",
    "tiktok__rate_limited_40100": "throttle",
    "gorgias__rate_limited_429": "throttle",
    "recharge__rate_limited_429": "throttle",
    "klaviyo__throttled_429": "throttle",
    "ga4__resource_exhausted_429": "quota_daily",
    "shopify__throttled": "throttle",
    "shopify__access_denied_missing_read_orders": "withhold_read_orders",
}
# The store a token the sandbox never issued opens (Recharge knows the store from the token alone).
RECHARGE_DEMO_STORE = "copperleaf-coffee"


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def same_shape(sample: Any, served: Any, path: str = "$") -> list[str]:
    """Where ``served`` lacks a key of ``sample`` or has another JSON type (a null in a sample is a
    field that may be null: any value is that field's shape)."""
    if sample is None:
        return []
    if json_type(sample) != json_type(served):
        return [f"{path}: {json_type(sample)} in the sample, {json_type(served)} served"]
    problems: list[str] = []
    if isinstance(sample, dict):
        for key, value in sample.items():
            if key not in served:
                if key not in OPTIONAL:
                    problems.append(f"{path}.{key}: missing")
                continue
            problems.extend(same_shape(value, served[key], f"{path}.{key}"))
    elif isinstance(sample, list) and sample and served:
        problems.extend(same_shape(sample[0], served[0], f"{path}[0]"))
    return problems


def replay(control: SandboxControl, name: str) -> httpx.Response:
    recorded = json.loads((SAMPLES / f"{name}.json").read_text())
    request = recorded["request"]
    url = urlparse(request["url"])
    path = PREFIX[url.netloc] + url.path
    query = dict(request.get("query", {}))
    platform = {
        "/meta": "meta_ads",
        "/google-ads": "google_ads",
        "/google-oauth": "google_ads",
        "/tiktok": "tiktok_ads",
        "/gorgias/example-store": "gorgias",
        "/recharge": "recharge",
        "/klaviyo": "klaviyo",
        "/ga4/data": "ga4",
        "/shopify/example-store": "shopify",
        "/yotpo": "yotpo_loyalty",
    }[PREFIX[url.netloc]]
    grant = control.grant(platform)
    headers = {k: v for k, v in request.get("headers", {}).items() if not k.lower().startswith("content")}
    token = grant["access_token"]
    headers = {k: v.replace("<ACCESS_TOKEN>", token).replace("REDACTED_API_KEY", token) for k, v in headers.items()}
    query = {k: str(v).replace("<ACCESS_TOKEN>", token) for k, v in query.items()}
    found = re.search(r"(?:act_|customers/|properties/)(\d+)", url.path)
    account = query.get("advertiser_id") or (found[1] if found else "")
    if platform == "gorgias":  # HTTP Basic with the login email and the API key; the account is the subdomain
        login = base64.b64encode(f"sample@example.com:{grant['access_token']}".encode()).decode()
        headers["Authorization"] = f"Basic {login}"
        account = url.netloc.split(".")[0]
    if platform == "recharge":
        account = RECHARGE_DEMO_STORE
    if platform == "klaviyo":  # a Klaviyo key names its account; the samples' redacted key is the demo's
        account = KLAVIYO_DEMO_ACCOUNT
    if platform == "shopify":
        account = url.netloc.split(".")[0]
    if name in FAULTS:
        control.queue(platform, account, FAULTS[name])
    if request["method"] == "GET":
        return httpx.get(f"{control.url}{path}", params=query, headers=headers)
    body = dict(request.get("body", {}))
    if platform == "google_ads" and "refresh_token" in body:
        body["refresh_token"] = grant["refresh_token"]
        return httpx.post(f"{control.url}{path}", data=body)
    if platform == "shopify" and "refresh_token" in body:
        body["refresh_token"] = grant["refresh_token"]
    if platform == "shopify" and "code" in body:
        consent = f"{control.url}/shopify/{account}/admin/oauth/authorize"
        body["code"] = httpx.get(consent, params={"redirect_uri": "https://app/cb", "sandbox_no_redirect": "1"}).json()[
            "code"
        ]
    return httpx.post(f"{control.url}{path}", json=body, headers=headers)


@pytest.mark.parametrize("name", sorted(p.stem for p in SAMPLES.glob("*.json")))
def test_the_sandbox_serves_the_samples_shape(sandbox: SandboxControl, name: str) -> None:
    recorded = json.loads((SAMPLES / f"{name}.json").read_text())["response"]
    served = replay(sandbox, name)
    assert served.status_code == recorded["status"], served.text
    assert same_shape(recorded["body"], served.json()) == []
    for header in recorded["headers"]:
        if header.lower().startswith("x-") and name not in (
            "meta__ads_with_creative_headline",
            "meta__campaigns_effective_status",
        ):
            assert header in served.headers or header.lower() in {h.lower() for h in served.headers}, header
