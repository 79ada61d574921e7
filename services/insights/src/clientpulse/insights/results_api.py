"""Reading results from the results-ingest service over HTTP.

Results-ingest owns campaign data; insights reads it through the same API the gateway forwards to. The
weekly analysis signs its own identity (``service:insights``, Executive) with the shared identity secret;
a question's tools sign the caller's identity instead, so results-ingest applies the caller's access.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from clientpulse.insights.domain.analysis import CampaignResult
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, Role, sign_identity

SERVICE_IDENTITY = Identity(sub="service:insights", role=Role.EXECUTIVE, name="insights service")


class ResultsUnavailable(Exception):
    """The results API could not give a client's campaign table (retried with the message's backoff)."""


class _CampaignTable(BaseModel):
    """The part of results-ingest's campaign table the analysis reads (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    items: list[CampaignResult]


class ResultsApi:
    """``GET /api/v1/clients/{client_id}/results/campaigns`` of results-ingest."""

    def __init__(self, base_url: str, *, identity_secret: str, http: httpx.AsyncClient, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = identity_secret
        self._http = http
        self._timeout = timeout

    async def campaigns(self, client_id: str, start: date, end: date) -> list[CampaignResult]:
        """Each campaign's sums over ``start``–``end`` (inclusive, account-local days)."""
        url = f"{self.base_url}/api/v1/clients/{client_id}/results/campaigns"
        params = {"start": start.isoformat(), "end": end.isoformat(), "sort": "spend", "order": "desc"}
        headers = {IDENTITY_HEADER: sign_identity(SERVICE_IDENTITY, self._secret)}
        try:
            response = await self._http.get(url, params=params, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise ResultsUnavailable(
                f"results-ingest at {self.base_url} did not answer ({exc.__class__.__name__}: {exc}); start it or set "
                "CLIENTPULSE_INSIGHTS_RESULTS_URL"
            ) from exc
        if response.status_code != 200:
            raise ResultsUnavailable(
                f"results-ingest at {self.base_url} answered {response.status_code} for client {client_id} "
                f"({start} to {end}): {_detail(response)}"
            )
        try:
            table = _CampaignTable.model_validate_json(response.content)
        except ValidationError as exc:
            raise ResultsUnavailable(
                f"results-ingest at {self.base_url} sent a campaign table this service cannot read: {exc}"
            ) from exc
        return table.items

    async def read(self, path: str, params: dict[str, str], identity: Identity) -> dict[str, Any]:
        """One results API read (``/api/v1/clients/{id}/results/...``) as ``identity``; the body as JSON."""
        headers = {IDENTITY_HEADER: sign_identity(identity, self._secret)}
        try:
            response = await self._http.get(
                f"{self.base_url}{path}", params=params, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise ResultsUnavailable(
                f"results-ingest at {self.base_url} did not answer ({exc.__class__.__name__})"
            ) from exc
        if response.status_code != 200:
            raise ResultsUnavailable(f"results-ingest answered {response.status_code}: {_detail(response)}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ResultsUnavailable("results-ingest sent a body that is not JSON") from exc
        return body if isinstance(body, dict) else {"items": body}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:200]
