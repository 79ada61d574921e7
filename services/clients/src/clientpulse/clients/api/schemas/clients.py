"""Request and response bodies of client profiles."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, model_validator

from clientpulse.clients.api.schemas.health import HEALTH_COLOURS
from clientpulse.clients.db.models import Client, Company
from clientpulse.clients.domain.check_ins import check_in_overdue
from clientpulse.clients.domain.qbrs import qbr_overdue
from clientpulse.clients.domain.senior_dms import SeniorDms
from clientpulse.clients.domain.tiers import is_stale
from clientpulse.shared.contracts.events import ClientStatus, HealthBand, ReviewDecision, Tier
from clientpulse.shared.db import utcnow
from clientpulse.shared.guards import InputModel


class ClientRead(BaseModel):
    """A client profile, with the tier and staleness replicated from tiering, its QBR and check-in schedules,
    its senior-DM flag and its Review action."""

    id: str
    company_id: str
    name: str
    status: ClientStatus
    status_reason: str | None
    status_changed_by: str | None
    dm_id: str | None
    squad_id: str | None
    parent_id: str | None
    created_at: datetime
    created_by: str
    status_changed_at: datetime
    tier: Tier | None
    tier_score: Decimal | None
    stale: bool
    ratings_recorded_at: datetime | None
    review_action_due_on: date | None
    review_action_overdue: bool
    review_decision: ReviewDecision | None
    review_decided_at: datetime | None
    senior_dm_missing: bool
    health_score: int | None
    health_band: HealthBand | None
    health_colour: str | None
    last_qbr_on: date | None
    next_qbr_due_on: date | None
    qbr_overdue: bool
    last_check_in_on: date | None
    next_check_in_due_on: date | None
    check_in_overdue: bool

    @classmethod
    def of(
        cls,
        client: Client,
        company: Company,
        *,
        now: datetime | None = None,
        hidden: frozenset[str] = frozenset(),
        senior_dms: SeniorDms | None = None,
    ) -> ClientRead:
        """Map a stored client and its company; staleness and overdue are judged at ``now``."""
        moment = now or utcnow()
        tier = Tier(client.tier) if client.tier else None
        status = ClientStatus(client.status)
        band = HealthBand(client.health_band) if client.health_band else None
        return cls(
            id=client.id,
            company_id=company.id,
            name=company.name,
            status=status,
            status_reason=client.status_reason,
            status_changed_by=client.status_changed_by,
            dm_id=client.dm_id,
            squad_id=client.squad_id,
            # A parent in another squad is not named to a Manager who may not see it (docs/access.md).
            parent_id=None if client.parent_id in hidden else client.parent_id,
            created_at=client.created_at,
            created_by=client.created_by,
            status_changed_at=client.status_changed_at,
            tier=tier,
            tier_score=client.tier_score,
            stale=is_stale(client.ratings_recorded_at, moment),
            ratings_recorded_at=client.ratings_recorded_at,
            review_action_due_on=client.review_action_due_on,
            review_action_overdue=client.review_action_due_on is not None
            and moment.date() > client.review_action_due_on,
            review_decision=ReviewDecision(client.review_decision) if client.review_decision else None,
            review_decided_at=client.review_decided_at,
            senior_dm_missing=(senior_dms or SeniorDms()).client_missing(client),
            health_score=client.health_score,
            health_band=band,
            health_colour=HEALTH_COLOURS[band] if band else None,
            last_qbr_on=client.last_qbr_on,
            next_qbr_due_on=client.qbr_due_on,
            qbr_overdue=qbr_overdue(status, client.qbr_due_on, moment.date()),
            last_check_in_on=client.last_check_in_on,
            next_check_in_due_on=client.check_in_due_on,
            check_in_overdue=check_in_overdue(status, tier, client.check_in_due_on, moment.date()),
        )


class ClientUpdate(InputModel):
    """Changes to a client: status (with a reason), DM and squad (Executive/Head only), group parent."""

    status: ClientStatus | None = None
    status_reason: str | None = Field(default=None, max_length=2000)
    dm_id: str | None = Field(default=None, min_length=1, max_length=120)
    squad_id: str | None = Field(default=None, min_length=1, max_length=120)
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _status_not_null(self) -> ClientUpdate:
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status may not be null")
        if "status_reason" in self.model_fields_set and "status" not in self.model_fields_set:
            raise ValueError("status_reason goes with a status change")
        return self
