"""The monthly recalculation as set-based SQL (heavy set work runs in the database: docs/architecture.md, "Scale-out").

PostgreSQL: one statement of data-modifying CTEs aggregates trailing revenue per client, bands it,
rescores every Active scored client, updates the changed ones, writes their receipts and the
TierChanged outbox rows (payload built in SQL), and returns the counts. Nothing crosses to Python
per client.

SQLite (the embedded default, a few hundred clients): the same aggregation as a plain SELECT, the
arithmetic in Python with ``Decimal`` and the writes as batched multi-row statements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.client_directory import client_directory
from clientpulse.shared.contracts import derived_event_id
from clientpulse.shared.contracts.events import ClientStatus, ScoreRecorded, ScoresRecalculated, TierChanged
from clientpulse.shared.db import note_events_recorded
from clientpulse.shared.messaging.tables import outbox
from clientpulse.shared.money import FAR_FUTURE, RateWindow
from clientpulse.shared.telemetry import current_trace_headers
from clientpulse.tiering.db.models import ClientScore, ScoreReceipt

# Moved scores per ScoresRecalculated event: about 90 kB of payload, well under NATS's 1 MB message limit.
SCORES_PER_EVENT = 1000


def scores_recalculated_event_id(run_id: str, part: int) -> str:
    """The stable id of a run's ScoresRecalculated part (the SQLite path)."""
    return derived_event_id(f"scores-recalculated:{run_id}:{part}")


@dataclass(frozen=True, slots=True)
class RecalculationInput:
    """Everything a recalculation computes with."""

    run_id: str
    period: str
    window_start: date
    window_end: date
    now: datetime
    base_currency: str
    rates: tuple[RateWindow, ...]
    band_floors_minor: tuple[int, int, int, int]  # >300k (exclusive) for 5, ≥150k 4, ≥75k 3, ≥30k 2, in base minor
    tier_floors: tuple[Decimal, Decimal, Decimal]  # Platinum, Core, Standard
    weights_by_track: dict[str, dict[str, str]]
    actor: str


@dataclass(frozen=True, slots=True)
class RecalculationCounts:
    """What a run did."""

    recalculated: int
    changed: int
    skipped_never_scored: int
    failed: int


def _rates_cte(rates: tuple[RateWindow, ...], *, postgres: bool) -> tuple[str, dict[str, Any]]:
    rows: list[str] = []
    params: dict[str, Any] = {}
    for index, window in enumerate(rates):
        if postgres:  # asyncpg must know each parameter's type; SQLite would turn CAST(… AS date) into a number
            rows.append(
                f"(CAST(:rc{index} AS text), CAST(:rf{index} AS date), CAST(:rt{index} AS date), "
                f"CAST(:rx{index} AS numeric))"
            )
        else:
            rows.append(f"(:rc{index}, :rf{index}, :rt{index}, :rx{index})")
        params |= {
            f"rc{index}": window.currency,
            f"rf{index}": window.valid_from,
            f"rt{index}": min(window.valid_to, FAR_FUTURE),
            f"rx{index}": window.factor,
        }
    return "rates(currency, valid_from, valid_to, factor) AS (VALUES " + ", ".join(rows) + ")", params


_REVENUE_AND_CANDIDATES = """
{rates},
revenue AS (
    SELECT i.client_id,
           SUM(i.amount_minor * r.factor) AS base_minor,
           SUM(CASE WHEN r.factor IS NULL THEN 1 ELSE 0 END) AS unconverted
    FROM ledger_invoices i
    LEFT JOIN rates r ON r.currency = i.currency AND i.issued_on >= r.valid_from AND i.issued_on < r.valid_to
    WHERE i.issued_on >= :since AND i.issued_on <= :until
    GROUP BY i.client_id
),
candidates AS (
    SELECT s.client_id, s.track, s.human_points, s.money_weight, s.score AS old_score,
           s.effective_tier AS old_tier, s.computed_tier AS old_computed, s.override_tier, s.override_expires_at,
           s.revenue_base_minor AS old_revenue, s.revenue_source AS old_source,
           -- Without ledger invoices: the Productive revenue refreshed for this window (fetched before this
           -- statement, no API calls here), else the Productive revenue the client was last scored with.
           CASE WHEN rv.client_id IS NULL AND pl.client_id IS NOT NULL THEN pl.revenue_base_minor
                WHEN rv.client_id IS NULL AND s.revenue_source = 'productive' THEN s.revenue_base_minor
                ELSE COALESCE(ROUND(rv.base_minor), 0) END AS new_revenue,
           CASE WHEN rv.client_id IS NULL AND pl.client_id IS NOT NULL AND pl.revenue_invoices > 0 THEN 'productive'
                WHEN rv.client_id IS NULL AND pl.client_id IS NOT NULL THEN 'none'
                WHEN rv.client_id IS NULL AND s.revenue_source = 'productive' THEN 'productive'
                WHEN rv.client_id IS NULL THEN 'none' ELSE 'ledger' END AS new_source,
           COALESCE(rv.unconverted, 0) > 0 AS failed
    FROM client_scores s
    JOIN client_directory d ON d.client_id = s.client_id AND d.status = :active
    LEFT JOIN revenue rv ON rv.client_id = s.client_id
    LEFT JOIN productive_links pl ON pl.client_id = s.client_id AND pl.revenue_window_end = :until
                                  AND pl.revenue_base_minor IS NOT NULL
)"""

_SKIPPED = """
SELECT COUNT(*) FROM client_directory d
WHERE d.status = :active AND NOT EXISTS (SELECT 1 FROM client_scores s WHERE s.client_id = d.client_id)"""

_POSTGRES = """
WITH {head},
banded AS (
    SELECT c.*,
           CASE WHEN c.new_revenue > :b5 THEN 5 WHEN c.new_revenue >= :b4 THEN 4
                WHEN c.new_revenue >= :b3 THEN 3 WHEN c.new_revenue >= :b2 THEN 2 ELSE 1 END AS band,
           (c.override_tier IS NOT NULL AND c.override_expires_at IS NOT NULL
                AND c.override_expires_at <= CAST(:now AS timestamptz))
               AS expired
    FROM candidates c WHERE NOT c.failed
),
scored AS (
    SELECT b.*, (b.human_points + b.money_weight * b.band)::numeric(6, 2) AS new_score FROM banded b
),
tiered AS (
    SELECT s.*,
           CASE WHEN s.new_score >= :t_platinum THEN 'Platinum' WHEN s.new_score >= :t_core THEN 'Core'
                WHEN s.new_score >= :t_standard THEN 'Standard' ELSE 'Review' END AS new_computed
    FROM scored s
),
decided AS (
    SELECT t.*,
           CASE WHEN t.override_tier IS NOT NULL AND NOT t.expired THEN t.override_tier
                ELSE t.new_computed END AS new_effective,
           CASE WHEN t.expired THEN 'expiry' ELSE 'recalculation' END AS cause,
           md5(CAST(:run_id AS text) || ':' || t.client_id)::uuid::text AS new_receipt_id
    FROM tiered t
),
updated AS (
    UPDATE client_scores s
    SET revenue_base_minor = d.new_revenue, revenue_currency = CAST(:base AS text), revenue_source = d.new_source,
        money_rating = d.band, score = d.new_score, computed_tier = d.new_computed, effective_tier = d.new_effective,
        override_tier = CASE WHEN d.expired THEN NULL ELSE s.override_tier END,
        override_reason = CASE WHEN d.expired THEN NULL ELSE s.override_reason END,
        override_expires_at = CASE WHEN d.expired THEN NULL ELSE s.override_expires_at END,
        override_by = CASE WHEN d.expired THEN NULL ELSE s.override_by END,
        override_at = CASE WHEN d.expired THEN NULL ELSE s.override_at END,
        receipt_id = d.new_receipt_id, updated_at = CAST(:now AS timestamptz)
    FROM decided d
    WHERE s.client_id = d.client_id
      AND (d.new_score <> d.old_score OR d.new_effective <> d.old_tier OR d.new_computed <> d.old_computed
           OR d.new_revenue <> d.old_revenue OR d.new_source <> d.old_source OR d.expired)
    RETURNING s.client_id, s.track, s.ratings, s.money_rating, s.revenue_base_minor, s.revenue_source, s.score,
              s.computed_tier, s.effective_tier, s.framework_version, s.override_tier, s.override_reason,
              s.override_expires_at, d.old_tier, d.old_score, d.cause, d.new_receipt_id
),
receipts AS (
    INSERT INTO score_receipts (id, client_id, kind, track, ratings, money_rating, revenue_base_minor, base_currency,
        revenue_source, window_start, window_end, weights, score, computed_tier, effective_tier, framework_version,
        override_tier, override_reason, override_expires_at, period, actor, recorded_at)
    SELECT u.new_receipt_id, u.client_id, u.cause, u.track, u.ratings, u.money_rating, u.revenue_base_minor,
        CAST(:base AS text), u.revenue_source, CAST(:since AS date), CAST(:until AS date),
        CASE u.track WHEN 'product_saas' THEN CAST(CAST(:w_product_saas AS text) AS json)
                     ELSE CAST(CAST(:w_managed_delivery AS text) AS json) END,
        u.score, u.computed_tier, u.effective_tier, u.framework_version, u.override_tier, u.override_reason,
        u.override_expires_at, CAST(:period AS text), CAST(:actor AS text), CAST(:now AS timestamptz)
    FROM updated u
    RETURNING 1
),
events AS (
    INSERT INTO outbox (event_id, subject, stream, payload, headers, created_at, attempts)
    SELECT md5('tier-changed:' || CAST(:run_id AS text) || ':' || u.client_id)::uuid::text,
           CAST(:subject AS text), CAST(:stream AS text),
           convert_to(json_build_object(
               'specversion', '1.0',
               'id', md5('tier-changed:' || CAST(:run_id AS text) || ':' || u.client_id)::uuid::text,
               'source', '/clientpulse/tiering',
               'type', CAST(:event_type AS text),
               'time', CAST(:now_text AS text),
               'subject', u.client_id,
               'datacontenttype', 'application/json',
               'data', json_build_object(
                   'client_id', u.client_id, 'old_tier', u.old_tier, 'new_tier', u.effective_tier,
                   'old_score', u.old_score::text, 'new_score', u.score::text, 'cause', u.cause,
                   'receipt_id', u.new_receipt_id, 'changed_by', CAST(:actor AS text))
           )::text, 'UTF8'),
           CAST(CAST(:headers AS text) AS json), CAST(:now AS timestamptz), 0
    FROM updated u
    WHERE u.old_tier <> u.effective_tier
    RETURNING 1
),
moved_scores AS (
    SELECT (row_number() OVER (ORDER BY u.client_id) - 1) / CAST(:part_size AS integer) AS part, u.client_id,
           u.score, u.computed_tier, u.effective_tier
    FROM updated u
    WHERE u.score <> u.old_score
),
score_parts AS (
    INSERT INTO outbox (event_id, subject, stream, payload, headers, created_at, attempts)
    SELECT md5('scores-recalculated:' || CAST(:run_id AS text) || ':' || p.part)::uuid::text,
           CAST(:scores_subject AS text), CAST(:stream AS text),
           convert_to(json_build_object(
               'specversion', '1.0',
               'id', md5('scores-recalculated:' || CAST(:run_id AS text) || ':' || p.part)::uuid::text,
               'source', '/clientpulse/tiering',
               'type', CAST(:scores_type AS text),
               'time', CAST(:now_text AS text),
               'datacontenttype', 'application/json',
               'data', json_build_object(
                   'period', CAST(:period AS text), 'run_id', CAST(:run_id AS text), 'part', p.part,
                   'scores', p.scores)
           )::text, 'UTF8'),
           CAST(CAST(:headers AS text) AS json), CAST(:now AS timestamptz), 0
    FROM (
        SELECT m.part, json_agg(json_build_object(
                   'client_id', m.client_id, 'score', m.score::text, 'computed_tier', m.computed_tier,
                   'effective_tier', m.effective_tier) ORDER BY m.client_id) AS scores
        FROM moved_scores m GROUP BY m.part
    ) p
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM candidates WHERE NOT failed) AS recalculated,
       (SELECT COUNT(*) FROM events) AS changed,
       (SELECT COUNT(*) FROM candidates WHERE failed) AS failed,
       (SELECT COUNT(*) FROM receipts) AS receipts,
       (SELECT COUNT(*) FROM score_parts) AS score_parts
"""


def _params(spec: RecalculationInput) -> dict[str, Any]:
    b5, b4, b3, b2 = spec.band_floors_minor
    platinum, core, standard = spec.tier_floors
    return {
        "since": spec.window_start,
        "until": spec.window_end,
        "active": ClientStatus.ACTIVE.value,
        "b5": b5,
        "b4": b4,
        "b3": b3,
        "b2": b2,
        "t_platinum": platinum,
        "t_core": core,
        "t_standard": standard,
        "now": spec.now,
        "run_id": spec.run_id,
        "base": spec.base_currency,
        "period": spec.period,
        "actor": spec.actor,
        "w_product_saas": json.dumps(spec.weights_by_track["product_saas"]),
        "w_managed_delivery": json.dumps(spec.weights_by_track["managed_delivery"]),
        "subject": TierChanged.subject,
        "stream": TierChanged.stream.value,
        "event_type": TierChanged.cloudevents_type(),
        "now_text": spec.now.isoformat(),
        "headers": json.dumps(current_trace_headers()),
        "part_size": SCORES_PER_EVENT,
        "scores_subject": ScoresRecalculated.subject,
        "scores_type": ScoresRecalculated.cloudevents_type(),
    }


async def recalculate_in_postgres(session: AsyncSession, spec: RecalculationInput) -> RecalculationCounts:
    """The whole recalculation in one PostgreSQL statement; returns its counts."""
    rates, rate_params = _rates_cte(spec.rates, postgres=True)
    statement = text(_POSTGRES.format(head=_REVENUE_AND_CANDIDATES.format(rates=rates).strip()))
    note_events_recorded(session)
    row = (await session.execute(statement, {**_params(spec), **rate_params})).one()
    skipped = int(await session.scalar(text(_SKIPPED), {"active": ClientStatus.ACTIVE.value}) or 0)
    return RecalculationCounts(int(row.recalculated), int(row.changed), skipped, int(row.failed))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One Active scored client as the SQLite path reads it."""

    client_id: str
    track: str
    human_points: Decimal
    money_weight: Decimal
    old_score: Decimal
    old_tier: str
    old_computed: str
    override_tier: str | None
    override_expires_at: Any
    old_revenue: int
    old_source: str
    new_revenue: int
    new_source: str
    failed: bool


async def read_candidates(session: AsyncSession, spec: RecalculationInput) -> tuple[list[Candidate], int]:
    """Active scored clients with fresh revenue (the SQLite path), and how many Active ones were never scored."""
    rates, rate_params = _rates_cte(spec.rates, postgres=False)
    # Only placeholders are formatted in; every value is a bound parameter.
    query = text("WITH " + _REVENUE_AND_CANDIDATES.format(rates=rates).strip() + " SELECT * FROM candidates")  # noqa: S608
    params = {**rate_params, **{k: v for k, v in _params(spec).items() if k in ("since", "until", "active")}}
    # SQLite compares the factors as floats; revenue is rounded to whole minor units right after.
    params = {k: float(v) if isinstance(v, Decimal) else v for k, v in params.items()}
    rows = (await session.execute(query, params)).mappings().all()
    candidates = [
        Candidate(
            client_id=r["client_id"],
            track=r["track"],
            human_points=Decimal(str(r["human_points"])).quantize(Decimal("0.01")),
            money_weight=Decimal(str(r["money_weight"])).quantize(Decimal("0.01")),
            old_score=Decimal(str(r["old_score"])).quantize(Decimal("0.01")),
            old_tier=r["old_tier"],
            old_computed=r["old_computed"],
            override_tier=r["override_tier"],
            override_expires_at=r["override_expires_at"],
            old_revenue=int(r["old_revenue"]),
            old_source=r["old_source"],
            new_revenue=round(r["new_revenue"] or 0),
            new_source=r["new_source"],
            failed=bool(r["failed"]),
        )
        for r in rows
    ]
    skipped = int(await session.scalar(text(_SKIPPED), {"active": ClientStatus.ACTIVE.value}) or 0)
    return candidates, skipped


async def write_changes(
    session: AsyncSession, changes: list[dict[str, Any]], receipts: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    """Apply the SQLite path's changes as batched statements (executemany), never one ORM object per row."""
    if changes:
        scores = cast(Table, ClientScore.__table__)
        statement = (
            update(scores)
            .where(scores.c.client_id == bindparam("b_client_id"))
            .values({key: bindparam(key) for key in changes[0] if key != "b_client_id"})
        )
        await session.execute(statement, changes)
    if receipts:
        await session.execute(insert(cast(Table, ScoreReceipt.__table__)), receipts)
    if events:
        note_events_recorded(session)
        await session.execute(insert(outbox), events)


def tier_changed_event_id(run_id: str, client_id: str) -> str:
    """The stable id of the TierChanged a run emits for a client (the SQLite path)."""
    return derived_event_id(f"tier-changed:{run_id}:{client_id}")


_FLAG_STALE_POSTGRES = """
WITH flagged AS (
    UPDATE client_scores s SET stale_flagged_at = CAST(:now AS timestamptz)
    FROM client_directory d
    WHERE d.client_id = s.client_id AND d.status = :active
      AND s.stale_flagged_at IS NULL AND s.ratings_recorded_at < CAST(:stale_before AS timestamptz)
    RETURNING s.client_id, s.receipt_id, s.track, s.score, s.computed_tier, s.effective_tier, s.framework_version,
              s.ratings_recorded_at
),
events AS (
    INSERT INTO outbox (event_id, subject, stream, payload, headers, created_at, attempts)
    SELECT md5('stale:' || CAST(:run_id AS text) || ':' || f.client_id)::uuid::text,
           CAST(:subject AS text), CAST(:stream AS text),
           convert_to(json_build_object(
               'specversion', '1.0',
               'id', md5('stale:' || CAST(:run_id AS text) || ':' || f.client_id)::uuid::text,
               'source', '/clientpulse/tiering',
               'type', CAST(:event_type AS text),
               'time', CAST(:now_text AS text),
               'subject', f.client_id,
               'datacontenttype', 'application/json',
               'data', json_build_object(
                   'client_id', f.client_id, 'receipt_id', f.receipt_id, 'track', f.track,
                   'score', f.score::text, 'computed_tier', f.computed_tier, 'effective_tier', f.effective_tier,
                   'framework_version', f.framework_version,
                   'ratings_recorded_at', to_char(f.ratings_recorded_at AT TIME ZONE 'UTC',
                                                  'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                   'stale', true, 'recorded_by', CAST(:actor AS text))
           )::text, 'UTF8'),
           CAST(CAST(:headers AS text) AS json), CAST(:now AS timestamptz), 0
    FROM flagged f
    RETURNING 1
)
SELECT COUNT(*) FROM events
"""


async def flag_stale_in_postgres(session: AsyncSession, spec: RecalculationInput, stale_before: datetime) -> int:
    """Flag Active clients whose ratings just turned stale and publish a ScoreRecorded (stale) for each."""
    params = {
        "now": spec.now,
        "active": ClientStatus.ACTIVE.value,
        "stale_before": stale_before,
        "run_id": spec.run_id,
        "subject": ScoreRecorded.subject,
        "stream": ScoreRecorded.stream.value,
        "event_type": ScoreRecorded.cloudevents_type(),
        "now_text": spec.now.isoformat(),
        "actor": spec.actor,
        "headers": json.dumps(current_trace_headers()),
    }
    note_events_recorded(session)
    return int(await session.scalar(text(_FLAG_STALE_POSTGRES), params) or 0)


async def newly_stale(session: AsyncSession, stale_before: datetime) -> list[ClientScore]:
    """Active clients whose ratings turned stale and are not flagged yet (the SQLite path)."""
    query = (
        select(ClientScore)
        .join(client_directory, client_directory.c.client_id == ClientScore.client_id)
        .where(
            client_directory.c.status == ClientStatus.ACTIVE.value,
            ClientScore.stale_flagged_at.is_(None),
            ClientScore.ratings_recorded_at < stale_before,
        )
    )
    return list((await session.execute(query)).scalars())
