"""What each tab of a client's page reads from the gateway.

Each loader returns the tab's template context; a read that fails is handed to the template as its
``ApiProblem`` so the rest of the tab still shows (e.g. Insights' 503 when no model is configured).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from clientpulse.web.charts import HEALTH_BANDS, Band, line_chart, sparkline
from clientpulse.web.gateway import ApiProblem, Gateway
from clientpulse.web.layout import gather_sections

TABS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("tiering", "Tiering"),
    ("health", "Health"),
    ("qbrs", "QBRs"),
    ("checkins", "Check-ins"),
    ("goals", "Goals"),
    ("notes", "Notes"),
    ("history", "History"),
    ("connections", "Connections"),
    ("results", "Results"),
    ("insights", "Insights"),
)
# The platforms a client can connect; OAuth ones also take a pasted token.
OAUTH_PLATFORMS = ("meta_ads", "google_ads", "tiktok_ads", "shopify", "ga4")
API_KEY_PLATFORMS = ("klaviyo", "gorgias", "recharge", "yotpo_loyalty")
CAMPAIGN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("campaign_name", "Campaign"),
    ("platform", "Platform"),
    ("status", "Status"),
    ("spend", "Spend"),
    ("revenue", "Revenue"),
    ("roas", "ROAS"),
    ("cpa", "CPA"),
    ("conversions", "Conversions"),
    ("ctr", "CTR"),
    ("reach", "Reach"),
    ("frequency", "Frequency"),
)
PERIODS = ("week", "month", "quarter", "year")
TIER_SCORES = (("Platinum", "#5b4a9e"), ("Core", "#1f6f50"), ("Standard", "#2f5f8a"), ("Review", "#8a3b12"))

Loader = Callable[[Gateway, str, str, Mapping[str, str]], Awaitable[dict[str, Any]]]


async def overview(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Status history, group members and the AI summary with its citations."""
    return await gather_sections(
        status_history=gateway.get(f"/clients/{client_id}/history", token, type="ClientStatusChanged", limit=10),
        members=gateway.get(f"/groups/{client_id}/members", token),
        summary=gateway.get(f"/clients/{client_id}/insights/summary", token),
    )


async def tiering(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The current score, the framework with its rubrics, and the score history as a chart."""
    sections = await gather_sections(
        tiering=gateway.get(f"/clients/{client_id}/tiering", token),
        framework=gateway.get("/tiering/framework", token),
        history=gateway.get(f"/clients/{client_id}/tiering/history", token, limit=50),
    )
    history = sections["history"]
    if not isinstance(history, ApiProblem):
        points = [(r["recorded_at"][:10], float(r["score"])) for r in reversed(history.get("items", []))]
        sections["chart"] = line_chart(points, low=1.0, high=5.0) if points else None
    current = None if isinstance(sections["tiering"], ApiProblem) else sections["tiering"].get("current")
    sections["track"] = query.get("track") or (current or {}).get("track")
    return sections


async def health(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Health scores over time, drawn over the Green/Amber/Red bands."""
    sections = await gather_sections(health=gateway.get(f"/clients/{client_id}/health", token, limit=100))
    page = sections["health"]
    if not isinstance(page, ApiProblem):
        points = [(item["recorded_at"][:10], float(item["score"])) for item in reversed(page.get("items", []))]
        sections["chart"] = line_chart(points, low=0, high=100, bands=HEALTH_BANDS) if points else None
    return sections


async def qbrs(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The QBRs held."""
    return await gather_sections(qbrs=gateway.get(f"/clients/{client_id}/qbrs", token, limit=50))


async def check_ins(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The monthly check-ins a Platinum client has."""
    return await gather_sections(check_ins=gateway.get(f"/clients/{client_id}/check-ins", token, limit=50))


def tabs_of(client: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The tabs a client has: check-ins only where the tier asks for them (Platinum, or a due date kept)."""
    wants_check_ins = client.get("tier") == "Platinum" or bool(client.get("next_check_in_due_on"))
    return tuple(t for t in TABS if t[0] != "checkins" or wants_check_ins)


async def goals(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The goals with their progress."""
    return await gather_sections(goals=gateway.get(f"/clients/{client_id}/goals", token, limit=100))


async def notes(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Notes as threads: each top-level note with its replies."""
    sections = await gather_sections(notes=gateway.get(f"/clients/{client_id}/notes", token, limit=200))
    page = sections["notes"]
    if not isinstance(page, ApiProblem):
        items = page.get("items", [])
        replies: dict[str, list[dict[str, Any]]] = {}
        for note in items:
            if note.get("parent_id"):
                replies.setdefault(note["parent_id"], []).append(note)
        sections["threads"] = [(note, replies.get(note["id"], [])) for note in items if not note.get("parent_id")]
    return sections


async def history(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The history feed, filtered by type and dates, a cursor page at a time."""
    filters = {key: query.get(key, "") for key in ("type", "since", "until", "cursor")}
    sections = await gather_sections(history=gateway.get(f"/clients/{client_id}/history", token, limit=50, **filters))
    sections["filters"] = filters
    return sections


async def connections(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The platform connections and the forms to add one."""
    sections = await gather_sections(connections=gateway.get(f"/clients/{client_id}/connections", token))
    sections.update(oauth_platforms=OAUTH_PLATFORMS, api_key_platforms=API_KEY_PLATFORMS)
    return sections


async def results(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Metric cards for the chosen period and the campaign table in the chosen order."""
    period = query.get("period") if query.get("period") in PERIODS else "month"
    sort = query.get("sort") if query.get("sort") in dict(CAMPAIGN_COLUMNS) else "spend"
    order = "asc" if query.get("order") == "asc" else "desc"
    sections = await gather_sections(metrics=gateway.get(f"/clients/{client_id}/results/metrics", token, period=period))
    metrics = sections["metrics"]
    window = {} if isinstance(metrics, ApiProblem) else {"start": metrics["start"], "end": metrics["end"]}
    sections.update(
        await gather_sections(
            campaigns=gateway.get(f"/clients/{client_id}/results/campaigns", token, sort=sort, order=order, **window)
        )
    )
    campaigns = sections["campaigns"]
    if not isinstance(campaigns, ApiProblem):
        for item in campaigns.get("items", []):
            item["sparkline"] = sparkline(item.get("spend_series") or [])
    backfill_id = query.get("backfill")
    if backfill_id:
        sections.update(
            await gather_sections(backfill=gateway.get(f"/clients/{client_id}/results/backfills/{backfill_id}", token))
        )
    sections.update(period=period, sort=sort, order=order, periods=PERIODS, columns=CAMPAIGN_COLUMNS)
    return sections


async def insights(gateway: Gateway, token: str, client_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The weekly analysis (structured, or an older one as text) and the questions asked."""
    return await gather_sections(
        analysis=gateway.get(f"/clients/{client_id}/insights/analysis", token, week=query.get("week", "")),
        questions=gateway.get(f"/clients/{client_id}/insights/ask", token, limit=10),
    )


LOADERS: dict[str, Loader] = {
    "overview": overview,
    "tiering": tiering,
    "health": health,
    "qbrs": qbrs,
    "checkins": check_ins,
    "goals": goals,
    "notes": notes,
    "history": history,
    "connections": connections,
    "results": results,
    "insights": insights,
}

__all__ = ["LOADERS", "TABS", "TIER_SCORES", "Band", "tabs_of"]
