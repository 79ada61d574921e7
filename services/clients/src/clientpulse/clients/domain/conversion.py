"""Turning a company into a client (DESIGN.md §6, Status)."""

from __future__ import annotations

from dataclasses import dataclass

from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.errors import Forbidden
from clientpulse.shared.identity import Identity


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who looks after a client: its delivery manager and squad."""

    dm_id: str | None
    squad_id: str | None


def initial_assignment(identity: Identity, *, dm_id: str | None, squad_id: str | None) -> Assignment:
    """The DM and squad of a new client.

    Executives and Heads assign whoever they name. A Manager may not assign others (DESIGN.md §7
    reserves assignment for Executive and Head): their conversions are assigned to themselves and
    their squad, so the client stays visible to the person who made it.
    """
    if identity.sees_all_clients:
        return Assignment(dm_id=dm_id, squad_id=squad_id)
    if (dm_id not in (None, identity.sub)) or (squad_id not in (None, identity.squad)):
        raise Forbidden("only an Executive or a Head may assign a client to another DM or squad")
    return Assignment(dm_id=identity.sub, squad_id=identity.squad)


def status_from_company(requested: ClientStatus | None) -> ClientStatus:
    """A client converted from the company page starts in the status asked for, Prospect by default."""
    return requested or ClientStatus.PROSPECT


def status_from_deal() -> ClientStatus:
    """A client converted from a won deal (an accepted prompt) starts Active."""
    return ClientStatus.ACTIVE
