"""Klaviyo's REST API as the connector reads it: the account, its metrics, its sent campaigns."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from clientpulse.platform_sandbox.imitations.klaviyo.data import (
    CAMPAIGN_ID_LENGTH,
    SentCampaign,
    account_metrics,
    campaign_by_id,
    campaigns_between,
)
from clientpulse.platform_sandbox.imitations.klaviyo.guard import JSON_API, Refused, authorize, invalid, profile_of

CAMPAIGN_PAGE_SIZE = 10


async def accounts(request: web.Request) -> web.Response:
    """``GET /api/accounts/``: the one account the key belongs to."""
    account, problem = authorize(request)
    if problem is not None:
        return problem
    profile = profile_of(request, account)
    attributes = {
        "test_account": False,
        "contact_information": {
            "default_sender_name": profile.name,
            "default_sender_email": f"hello@{account.lower()}.example",
            "website_url": f"https://{account.lower()}.example",
            "organization_name": profile.name,
            "street_address": {"address1": "1 Main St", "city": "New York", "country": "US", "zip": "10001"},
        },
        "industry": "Apparel & Accessories",
        "timezone": profile.time_zone,
        "preferred_currency": profile.currency,
        "public_api_key": account,
        "locale": "en-US",
    }
    self_link = str(request.url.with_query(None))
    item = {"type": "account", "id": account, "attributes": attributes, "links": {"self": f"{self_link}{account}/"}}
    return web.json_response(
        {"data": [item], "links": {"self": self_link, "next": None, "prev": None}}, content_type=JSON_API
    )


def _sparse(attributes: dict[str, Any], request: web.Request, kind: str) -> dict[str, Any]:
    fields = request.query.get(f"fields[{kind}]")
    if not fields:
        return attributes
    wanted = set(fields.split(","))
    return {k: v for k, v in attributes.items() if k in wanted}


async def metrics(request: web.Request) -> web.Response:
    """``GET /api/metrics/``: the account's metrics (one page), filtered on ``integration.name|category``."""
    account, problem = authorize(request)
    if problem is not None:
        return problem
    found = account_metrics(account)
    wanted = request.query.get("filter")
    if wanted:
        match = re.fullmatch(r"equals\(integration\.(name|category),['\"]([^'\"]*)['\"]\)", wanted)
        if match is None:
            return invalid(f"Unsupported filter: {wanted}").answer()
        found = [m for m in found if m["attributes"]["integration"][match[1]] == match[2]]
    base = str(request.url.with_query(None))
    data = [
        {
            "type": "metric",
            "id": m["id"],
            "attributes": _sparse(m["attributes"], request, "metric"),
            "relationships": {
                "flow-triggers": {
                    "links": {
                        "self": f"{base}{m['id']}/relationships/flow-triggers/",
                        "related": f"{base}{m['id']}/flow-triggers/",
                    }
                }
            },
            "links": {"self": f"{base}{m['id']}/"},
        }
        for m in found
    ]
    return web.json_response(
        {"data": data, "links": {"self": str(request.url), "next": None, "prev": None}}, content_type=JSON_API
    )


def _campaign_filter(text: str) -> tuple[str, list[str] | None]:
    """The channel a campaigns filter names (required) and the ids it asks for, if any."""
    channel = re.search(r"equals\(messages\.channel,['\"](email|sms)['\"]\)", text)
    if channel is None:
        raise invalid(
            "A channel filter is required: equals(messages.channel,'email') or equals(messages.channel,'sms')."
        )
    ids = re.search(r"any\(id,\[([^\]]*)\]\)", text)
    if ids is None:
        return channel[1], None
    return channel[1], re.findall(r"['\"]([^'\"]+)['\"]", ids[1])


def _campaign_item(campaign: SentCampaign, request: web.Request) -> dict[str, Any]:
    sent = campaign.send_time.isoformat()
    attributes = {
        "name": campaign.name,
        "status": "Sent",
        "archived": False,
        "audiences": {"included": ["Y6nRLr"], "excluded": []},
        "send_options": {"use_smart_sending": True},
        "send_strategy": {"method": "static", "datetime": sent},
        "created_at": (campaign.send_time - timedelta(days=2)).isoformat(),
        "scheduled_at": (campaign.send_time - timedelta(days=1)).isoformat(),
        "updated_at": sent,
        "send_time": sent,
    }
    base = str(request.url.with_query(None))
    return {
        "type": "campaign",
        "id": campaign.campaign_id,
        "attributes": _sparse(attributes, request, "campaign"),
        "links": {"self": f"{base}{campaign.campaign_id}/"},
    }


async def campaigns(request: web.Request) -> web.Response:
    """``GET /api/campaigns/``: sent campaigns of one channel (by id, or those of the last 90 days), ten a page."""
    account, problem = authorize(request)
    if problem is not None:
        return problem
    profile = profile_of(request, account)
    try:
        channel, ids = _campaign_filter(request.query.get("filter", ""))
    except Refused as refused:
        return refused.answer()
    if ids is not None:
        found = [c for c in (campaign_by_id(profile, i) for i in ids if len(i) == CAMPAIGN_ID_LENGTH) if c]
    else:
        today = datetime.now(ZoneInfo(profile.time_zone)).date()
        found = campaigns_between(profile, today - timedelta(days=90), today - timedelta(days=1))
    found = [c for c in found if c.channel == channel]
    offset = int(request.query.get("page[cursor]", "0") or 0)
    page = found[offset : offset + CAMPAIGN_PAGE_SIZE]
    following = offset + CAMPAIGN_PAGE_SIZE
    query = {k: v for k, v in request.query.items() if k != "page[cursor]"}
    next_url = str(request.url.with_query(None)) + "?" + urlencode({**query, "page[cursor]": str(following)})
    links = {"self": str(request.url), "next": next_url if following < len(found) else None, "prev": None}
    data = [_campaign_item(c, request) for c in page]
    return web.json_response({"data": data, "links": links}, content_type=JSON_API)
