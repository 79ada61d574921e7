"""Framework changes as set-based SQL on PostgreSQL and SQLite alike: what a proposed framework would do to
every Active scored client (the what-if), and a published version adopted by the stored scores.

Weights are whole hundredths (checked when proposed), so scores are computed ×100 in integers: exact
on both databases, the same figures ``Decimal`` gives. Rating keys are the code's dimension keys, never
input; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts.events import ClientStatus
from clientpulse.shared.db import UTCDateTime
from clientpulse.tiering.domain.framework import Framework


@dataclass(frozen=True, slots=True)
class Move:
    """How many clients go from one effective tier to another."""

    from_tier: str
    to_tier: str
    clients: int


@dataclass(frozen=True, slots=True)
class MovedClient:
    """One client under a proposal: its tier and score now, and what the proposal would make them."""

    client_id: str
    name: str | None
    from_tier: str
    to_tier: str
    old_score: Decimal
    new_score: Decimal


def _rating(key: str, dialect: str, table: str) -> str:
    if dialect == "postgresql":
        return f"CAST({table}.ratings->>'{key}' AS integer)"
    return f"CAST(json_extract({table}.ratings, '$.{key}') AS integer)"


def _points(framework: Framework, dialect: str, table: str = "s") -> tuple[str, str, dict[str, Any]]:
    """SQL of the human points ×100 and of the money weight ×100 per track, with their parameters."""
    human, money, params = [], [], {}
    for track, dimensions in framework.tracks.items():
        terms = []
        for d in dimensions:
            name = f"w_{track.value}_{d.key}"
            params[name] = int(d.weight * 100)
            if d.computed:
                money.append(f"WHEN '{track.value}' THEN CAST(:{name} AS integer)")
            else:
                terms.append(f"CAST(:{name} AS integer) * {_rating(d.key, dialect, table)}")
        human.append(f"WHEN '{track.value}' THEN " + " + ".join(terms))
    return f"CASE {table}.track {' '.join(human)} END", f"CASE {table}.track {' '.join(money)} END", params


def _band(column: str) -> str:
    return (
        f"CASE WHEN {column} > :b5 THEN 5 WHEN {column} >= :b4 THEN 4 WHEN {column} >= :b3 THEN 3 "
        f"WHEN {column} >= :b2 THEN 2 ELSE 1 END"
    )


def _tiered(framework: Framework, dialect: str, base_exponent: int) -> tuple[str, dict[str, Any]]:
    human, money, params = _points(framework, dialect)
    scale = 10**base_exponent
    b5, b4, b3, b2 = (int(floor * scale) for floor in framework.band_floors())
    params |= {"b5": b5, "b4": b4, "b3": b3, "b2": b2, "active": ClientStatus.ACTIVE.value}
    # Only the code's dimension keys and placeholders are formatted in; every value is a bound parameter.
    sql = f"""
WITH proposed AS (
    SELECT s.client_id, d.name, s.effective_tier AS from_tier, s.score AS old_score, s.override_tier,
           s.override_expires_at, ({human}) + ({money}) * ({_band("s.revenue_base_minor")}) AS score100
    FROM client_scores s JOIN client_directory d ON d.client_id = s.client_id AND d.status = :active
),
tiered AS (
    SELECT p.*,
           CASE WHEN p.override_tier IS NOT NULL AND (p.override_expires_at IS NULL OR p.override_expires_at > :now)
                THEN p.override_tier
                WHEN p.score100 >= 400 THEN 'Platinum' WHEN p.score100 >= 300 THEN 'Core'
                WHEN p.score100 >= 200 THEN 'Standard' ELSE 'Review' END AS to_tier
    FROM proposed p
)"""  # noqa: S608
    return sql, params


def _statement(sql: str) -> Any:
    return text(sql).bindparams(bindparam("now", type_=UTCDateTime()))


async def whatif_moves(session: AsyncSession, framework: Framework, *, base_exponent: int, now: datetime) -> list[Move]:
    """Every (from tier, to tier) pair with its count of Active scored clients, in one statement."""
    head, params = _tiered(framework, session.get_bind().dialect.name, base_exponent)
    query = head + " SELECT from_tier, to_tier, COUNT(*) AS clients FROM tiered GROUP BY from_tier, to_tier"  # noqa: S608
    rows = (await session.execute(_statement(query), {**params, "now": now})).all()
    return sorted((Move(r.from_tier, r.to_tier, int(r.clients)) for r in rows), key=lambda m: (m.from_tier, m.to_tier))


async def whatif_clients(
    session: AsyncSession,
    framework: Framework,
    *,
    base_exponent: int,
    now: datetime,
    tiers: tuple[str | None, str | None],
    after: str | None,
    limit: int,
) -> list[MovedClient]:
    """The clients that would move (from and to a tier, when named), by client id after a cursor."""
    head, params = _tiered(framework, session.get_bind().dialect.name, base_exponent)
    conditions = ["from_tier <> to_tier"]
    if tiers[0] is not None:
        conditions.append("from_tier = :from_tier")
        params["from_tier"] = tiers[0]
    if tiers[1] is not None:
        conditions.append("to_tier = :to_tier")
        params["to_tier"] = tiers[1]
    if after is not None:
        conditions.append("client_id > :after")
        params["after"] = after
    query = f"{head} SELECT * FROM tiered WHERE {' AND '.join(conditions)} ORDER BY client_id LIMIT :limit"  # noqa: S608
    rows = (await session.execute(_statement(query), {**params, "now": now, "limit": limit})).all()
    return [
        MovedClient(
            client_id=r.client_id,
            name=r.name,
            from_tier=r.from_tier,
            to_tier=r.to_tier,
            old_score=Decimal(str(r.old_score)).quantize(_CENTS),
            new_score=(Decimal(int(r.score100)) / 100).quantize(_CENTS),
        )
        for r in rows
    ]


_CENTS = Decimal("0.01")


async def adopt_framework(session: AsyncSession, framework: Framework) -> None:
    """Rewrite the stored human points and money weight of every score on another version, so the
    recalculation's statement scores it by this one (receipts keep the version each was scored by)."""
    dialect = session.get_bind().dialect.name
    human, money, params = _points(framework, dialect, table="client_scores")
    divide = "CAST(({expr}) AS numeric) / 100" if dialect == "postgresql" else "({expr}) / 100.0"
    statement = f"""
UPDATE client_scores SET human_points = {divide.format(expr=human)}, money_weight = {divide.format(expr=money)},
       framework_version = :version
WHERE framework_version <> :version"""  # noqa: S608
    await session.execute(text(statement), {**params, "version": framework.version})
