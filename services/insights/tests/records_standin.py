"""Stand-ins on loopback for what the summary and the questions read: the clients service (client, history,
health, QBRs, goals, notes), tiering (score receipts) and results-ingest (metrics, campaign table). Each checks
the signed identity and applies the access rule (a Manager sees their squad's clients), and records who read
what."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from insights_testkit import SECRET, serve_in_thread
from litestar import Litestar, Request, get
from litestar.response import Response

from clientpulse.shared.identity import IDENTITY_HEADER, IdentityError, verify_identity

T0 = "2026-11-02T09:00:00Z"


def relationship(client_id: str, *, squad: str = "s-1", note: str = "Call went well.") -> dict[str, Any]:
    """A client's records with one of each kind (ids prefixed by the client id)."""
    return {
        "squad": squad,
        "client": {
            "id": client_id, "name": f"Client {client_id}", "status": "Active", "status_reason": None,
            "status_changed_at": "2026-01-10T09:00:00Z", "tier": "Core", "tier_score": "3.45", "stale": False,
            "health_score": 35, "health_band": "Red", "last_qbr_on": "2026-09-01", "next_qbr_due_on": "2027-03-01",
            "qbr_overdue": False, "squad_id": squad,
        },
        "history": [{"id": f"{client_id}-h1", "occurred_at": "2026-01-10T09:00:00Z", "type": "ClientStatusChanged",
                     "line": "Status Prospect → Active"}],
        "receipts": [
            {"id": f"{client_id}-r2", "kind": "score", "score": "3.45", "computed_tier": "Core",
             "effective_tier": "Core", "recorded_at": "2026-11-01T02:00:00Z"},
            {"id": f"{client_id}-r1", "kind": "score", "score": "2.80", "computed_tier": "Standard",
             "effective_tier": "Standard", "recorded_at": "2026-10-01T02:00:00Z"},
        ],
        "health": [
            {"id": f"{client_id}-hl2", "score": 35, "band": "Red", "note": None,
             "recorded_at": "2026-11-20T09:00:00Z"},
            {"id": f"{client_id}-hl1", "score": 72, "band": "Green", "note": None,
             "recorded_at": "2026-10-20T09:00:00Z"},
        ],
        "qbrs": [{"id": f"{client_id}-q1", "held_on": "2026-09-01", "summary": "Quarter reviewed.",
                  "outcomes": ["Raise budget", "New landing page"]}],
        "goals": [
            {"id": f"{client_id}-g1", "name": "Revenue", "kind": "cumulative", "direction": "higher",
             "target": "100000", "current": "41000", "unit": "EUR", "status": "Off Track",
             "period_start": "2026-10-01", "period_end": "2026-12-31", "metric": "revenue", "closed": False},
        ],
        "notes": [{"id": f"{client_id}-n1", "body": note, "deleted": False, "created_at": "2026-11-25T09:00:00Z"}],
    }  # fmt: skip


@dataclass
class RecordsStandIn:
    """The other services' APIs for the clients in ``clients``; ``reads`` lists (caller sub, path)."""

    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    reads: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def _visible(self, request: Request[Any, Any, Any], client_id: str) -> dict[str, Any] | Response[Any]:
        try:
            caller = verify_identity(request.headers.get(IDENTITY_HEADER, ""), SECRET)
        except IdentityError:
            return Response({"detail": "no valid identity"}, status_code=401)
        self.reads.append((caller.sub, request.url.path))
        data = self.clients.get(client_id)
        if data is None or not caller.can_access_client(dm_id=None, squad_id=data["squad"]):
            return Response({"detail": f"client {client_id} was not found"}, status_code=404)
        return data

    def app(self) -> Litestar:
        stand_in = self

        def page(key: str, wrap: dict[str, Any] | None = None) -> Any:
            @get(f"/api/v1/clients/{{client_id:str}}{'' if key == 'client' else '/' + key.replace('_', '/')}",
                 sync_to_thread=False, name=key)  # fmt: skip
            def read(request: Request[Any, Any, Any], client_id: str) -> Response[Any]:
                found = stand_in._visible(request, client_id)
                if isinstance(found, Response):
                    return found
                if key == "client":
                    return Response(found["client"])
                if key == "tiering_history":
                    return Response({"trend": "up", "items": found["receipts"]})
                if key == "results_metrics":
                    return Response(stand_in.metrics)
                if key == "results_campaigns":
                    return Response({"items": stand_in.campaigns})
                return Response({"items": found[key]})

            return read

        keys = ["client", "history", "health", "qbrs", "goals", "notes", "tiering_history", "results_metrics",
                "results_campaigns"]  # fmt: skip
        return Litestar([page(k) for k in keys], logging_config=None)


@contextlib.contextmanager
def records_stand_in() -> Iterator[RecordsStandIn]:
    """The other services' stand-in, served until the block ends."""
    stand_in = RecordsStandIn()
    with serve_in_thread(stand_in.app(), "records-stand-in") as url:
        stand_in.url = url
        yield stand_in
