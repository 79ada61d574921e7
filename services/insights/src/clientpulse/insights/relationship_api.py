"""Reading a client's relationship records from the clients and tiering services over HTTP.

Each read carries a signed identity: the caller's own when a person asks (so the services apply that person's
access), or this service's (``service:insights``) when a summary is regenerated after events. The reads of
one summary run concurrently; any of them failing fails the whole read (a consumer retries with backoff).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from clientpulse.insights.domain.relationship import (
    ClientRecord,
    GoalRecord,
    HealthRecord,
    HistoryRecord,
    NoteRecord,
    QbrRecord,
    ReceiptRecord,
    RelationshipRecords,
)
from clientpulse.shared.errors import NotFound
from clientpulse.shared.identity import IDENTITY_HEADER, Identity, sign_identity

RECENT = 20


class RecordsUnavailable(Exception):
    """A service holding relationship records did not give them."""


class _Items(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[dict[str, Any]]
    trend: str | None = None


class RelationshipApi:
    """The clients service (client, history, health, QBRs, goals, notes) and tiering (score receipts)."""

    def __init__(
        self, *, clients_url: str, tiering_url: str, identity_secret: str, http: httpx.AsyncClient, timeout: float
    ) -> None:
        self.clients_url = clients_url.rstrip("/")
        self.tiering_url = tiering_url.rstrip("/")
        self._secret = identity_secret
        self._http = http
        self._timeout = timeout

    async def records(self, client_id: str, identity: Identity) -> RelationshipRecords:
        """Everything the identity may see of the client that a summary uses (404 when it may not see it)."""
        base = f"{self.clients_url}/api/v1/clients/{client_id}"
        client, history, health, qbrs, goals, notes, receipts = await asyncio.gather(
            self._get(base, identity),
            self._get(f"{base}/history", identity, {"type": "ClientStatusChanged", "limit": RECENT}),
            self._get(f"{base}/health", identity, {"limit": RECENT}),
            self._get(f"{base}/qbrs", identity, {"limit": RECENT}),
            self._get(f"{base}/goals", identity, {"limit": 100}),
            self._get(f"{base}/notes", identity, {"limit": 100}),
            self._get(f"{self.tiering_url}/api/v1/clients/{client_id}/tiering/history", identity, {"limit": RECENT}),
        )
        try:
            receipt_page = _Items.model_validate(receipts)
            return RelationshipRecords(
                client=ClientRecord.model_validate(client),
                status_changes=[HistoryRecord.model_validate(i) for i in _Items.model_validate(history).items],
                receipts=[ReceiptRecord.model_validate(i) for i in receipt_page.items],
                tier_trend=receipt_page.trend or "none",
                health=[HealthRecord.model_validate(i) for i in _Items.model_validate(health).items],
                qbrs=[QbrRecord.model_validate(i) for i in _Items.model_validate(qbrs).items],
                goals=[GoalRecord.model_validate(i) for i in _Items.model_validate(goals).items],
                notes=[NoteRecord.model_validate(i) for i in _Items.model_validate(notes).items],
            )
        except ValidationError as exc:
            raise RecordsUnavailable(f"a relationship record of client {client_id} could not be read: {exc}") from exc

    async def goals(self, client_id: str, identity: Identity) -> list[dict[str, Any]]:
        """The client's goals with their status, as the identity sees them."""
        body = await self._get(f"{self.clients_url}/api/v1/clients/{client_id}/goals", identity, {"limit": 100})
        try:
            return _Items.model_validate(body).items
        except ValidationError as exc:
            raise RecordsUnavailable(f"the goals of client {client_id} could not be read: {exc}") from exc

    async def _get(self, url: str, identity: Identity, params: dict[str, Any] | None = None) -> Any:
        headers = {IDENTITY_HEADER: sign_identity(identity, self._secret)}
        try:
            response = await self._http.get(url, params=params, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise RecordsUnavailable(
                f"{url} did not answer ({exc.__class__.__name__}); start the service or set "
                "CLIENTPULSE_INSIGHTS_CLIENTS_URL / CLIENTPULSE_INSIGHTS_TIERING_URL"
            ) from exc
        if response.status_code == 404:
            raise NotFound("client was not found")
        if response.status_code != 200:
            raise RecordsUnavailable(f"{url} answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise RecordsUnavailable(f"{url} sent a body that is not JSON") from exc
