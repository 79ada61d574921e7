"""The monthly recalculation: for every Active scored client, fresh revenue → band → score → tier.

A run is unique per period (a row claimed in the database, so a second request for the same period,
even after JetStream's duplicate window or on another replica, changes nothing and emits nothing).
TierChanged is written for each client whose *effective* tier changed, plus one RecalculationCompleted
with the counts; all of it in the consumer's single transaction. ScoreRecorded is not emitted per
recalculated client (100,000 events a month that only restate a moved money band): the receipts keep
the history, TierChanged carries what consumers act on.
"""

from __future__ import annotations

import calendar
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import Envelope, derived_event_id, new_event_id, wrap
from clientpulse.shared.contracts.events import (
    RecalculatedScore,
    RecalculationCompleted,
    ScoreRecorded,
    ScoresRecalculated,
    Tier,
    TierChangeCause,
    TierChanged,
)
from clientpulse.shared.messaging import record_event
from clientpulse.shared.money import RateTable, minor_unit_exponent
from clientpulse.shared.ratings import STALE_AFTER
from clientpulse.shared.telemetry import current_trace_headers
from clientpulse.tiering.db import recalculation as sql
from clientpulse.tiering.db.framework_sql import adopt_framework
from clientpulse.tiering.db.models import RecalculationRun
from clientpulse.tiering.db.repositories.frameworks import FrameworkRepository
from clientpulse.tiering.db.repositories.recalculation_runs import RecalculationRepository
from clientpulse.tiering.db.repositories.scores import ScoreRepository
from clientpulse.tiering.domain.framework import BUILT_IN, TIER_FLOORS, TRACKS, Framework, tier_for_score
from clientpulse.tiering.domain.ledger import trailing_year_start
from clientpulse.tiering.domain.outbox import SOURCE
from clientpulse.tiering.domain.portfolio_tiers import refresh_every_group
from clientpulse.tiering.domain.productive_links import refresh_productive_revenue
from clientpulse.tiering.domain.revenue import RevenueDesk
from clientpulse.tiering.domain.scoring import override_in_force

_log = logging.getLogger("clientpulse.tiering.recalculation")


def recalculation_event_id(period: str) -> str:
    """The RecalculationRequested id of a period: the same every time, so a re-fired CronJob is one event."""
    return derived_event_id(f"recalculation:{period}")


def parse_period(period: str) -> date:
    """First day of a ``YYYY-MM`` period; anything else is refused."""
    try:
        year, month = (int(part) for part in period.split("-"))
        if len(period) != 7 or not 1 <= month <= 12:
            raise ValueError
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"period must look like 2026-12, got {period!r}") from None


def revenue_window(period: str) -> tuple[date, date]:
    """The 12 months ending with the period: for 2026-11, 2025-12-01 to 2026-11-30."""
    first = parse_period(period)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return trailing_year_start(last), last


def resolve_period(value: str, now: datetime) -> str:
    """``previous`` (the month that just ended: what the CronJob on the 1st asks for), ``current``, or
    ``YYYY-MM``; a month that has not started yet is refused."""
    if value == "previous":
        last_month = now.date().replace(day=1) - timedelta(days=1)
        return f"{last_month.year:04d}-{last_month.month:02d}"
    if value == "current":
        return f"{now.year:04d}-{now.month:02d}"
    if parse_period(value) > now.date():
        raise ValueError(f"period {value} has not started yet; recalculate a month up to {now:%Y-%m}")
    return value


def _band_floors_minor(base_currency: str, framework: Framework) -> tuple[int, int, int, int]:
    scale = 10 ** minor_unit_exponent(base_currency)
    b5, b4, b3, b2 = (int(floor * scale) for floor in framework.band_floors())
    return b5, b4, b3, b2


def band_of_minor(revenue_minor: int, floors_minor: tuple[int, int, int, int]) -> int:
    """The band of revenue in base minor units by a version's floors (5 strictly above the first)."""
    b5, b4, b3, b2 = floors_minor
    if revenue_minor > b5:
        return 5
    return next((band for band, floor in ((4, b4), (3, b3), (2, b2)) if revenue_minor >= floor), 1)


async def run_recalculation(
    session: AsyncSession,
    *,
    period: str,
    requested_by: str,
    event_id: str,
    rates: RateTable,
    now: datetime,
    desk: RevenueDesk | None = None,
) -> RecalculationRun | None:
    """Recalculate a period once; None when it already ran. With a desk that can ask Productive, the
    revenue of linked clients without ledger invoices is refreshed first."""
    parse_period(period)
    runs = RecalculationRepository(session)
    run_id = await _claim_period(runs, period=period, requested_by=requested_by, event_id=event_id, now=now)
    if run_id is None:
        return None
    if desk is not None:
        refresh = await refresh_productive_revenue(session, desk, window=revenue_window(period), now=now)
        if refresh.asked:
            _log.info("Productive asked for %d linked client(s): %d refreshed, %d kept their last revenue",
                      refresh.asked, refresh.refreshed, refresh.failed)  # fmt: skip
    framework = await FrameworkRepository(session).in_force()
    await adopt_framework(session, framework)
    spec = recalculation_input(run_id, period, rates, now, framework)
    stale_before = now - STALE_AFTER
    if session.get_bind().dialect.name == "postgresql":
        counts = await sql.recalculate_in_postgres(session, spec)
        stale_flagged = await sql.flag_stale_in_postgres(session, spec, stale_before)
    else:
        counts = await _recalculate_in_python(session, spec)
        stale_flagged = await _flag_stale_in_python(session, spec, stale_before)
    await runs.finish(
        run_id,
        {
            "completed_at": now,
            "recalculated": counts.recalculated,
            "changed": counts.changed,
            "skipped_never_scored": counts.skipped_never_scored,
            "failed": counts.failed,
        },
    )
    await record_event(session, _completed(period, run_id, counts, stale_flagged))
    if desk is not None:
        await refresh_every_group(session, desk, now=now, actor=spec.actor, key=run_id)
    return await runs.by_period(period)


async def _claim_period(
    runs: RecalculationRepository, *, period: str, requested_by: str, event_id: str, now: datetime
) -> str | None:
    """Claim the period with a new run's row (its counts filled in at the end); None when it already ran."""
    run_id = new_event_id()
    claimed = await runs.claim_period(
        {
            "id": run_id,
            "period": period,
            "event_id": event_id,
            "requested_by": requested_by,
            "started_at": now,
            "completed_at": now,
            "recalculated": 0,
            "changed": 0,
            "skipped_never_scored": 0,
            "failed": 0,
        }
    )
    return run_id if claimed else None


def recalculation_input(
    run_id: str, period: str, rates: RateTable, now: datetime, framework: Framework = BUILT_IN
) -> sql.RecalculationInput:
    """What a run computes with: the period's revenue window, the rates and the framework's thresholds."""
    start, end = revenue_window(period)
    floors = {tier: floor for tier, floor in TIER_FLOORS}
    return sql.RecalculationInput(
        run_id=run_id,
        period=period,
        window_start=start,
        window_end=end,
        now=now,
        base_currency=rates.base_currency,
        rates=rates.windows,
        band_floors_minor=_band_floors_minor(rates.base_currency, framework),
        tier_floors=(floors[Tier.PLATINUM], floors[Tier.CORE], floors[Tier.STANDARD]),
        weights_by_track={track.value: framework.weights(track) for track in TRACKS},
        actor=f"recalculation:{period}",
    )


def _completed(period: str, run_id: str, counts: sql.RecalculationCounts, stale_flagged: int) -> Envelope[Any]:
    """The RecalculationCompleted of a run, one per period whatever redelivers it."""
    return wrap(
        RecalculationCompleted(
            period=period,
            run_id=run_id,
            recalculated=counts.recalculated,
            changed=counts.changed,
            skipped_never_scored=counts.skipped_never_scored,
            failed=counts.failed,
            stale_flagged=stale_flagged,
        ),
        source=SOURCE,
        event_id=derived_event_id(f"recalculation-completed:{period}"),
    )


@dataclass(frozen=True, slots=True)
class Rescored:
    """A candidate rescored with its fresh revenue (the SQLite path), and what changed."""

    band: int
    score: Decimal
    computed_tier: str
    effective_tier: str
    override_expired: bool
    changed: bool


def _aware(expires: datetime | str | None, now: datetime) -> datetime | None:
    """An override expiry as SQLite returns it (text or naive), made comparable with ``now``."""
    if isinstance(expires, str):
        expires = datetime.fromisoformat(expires)
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=now.tzinfo)
    return expires


def rescore(c: sql.Candidate, spec: sql.RecalculationInput) -> Rescored:
    """The band of the fresh revenue, the score and tiers it gives, and whether the row must be rewritten:
    any of score, tiers, revenue or its source moved, or the override expired."""
    band = band_of_minor(c.new_revenue, spec.band_floors_minor)
    score = c.human_points + c.money_weight * band
    computed = tier_for_score(score).value
    expired = c.override_tier is not None and not override_in_force(_aware(c.override_expires_at, spec.now), spec.now)
    effective = c.override_tier if c.override_tier is not None and not expired else computed
    changed = (
        score != c.old_score
        or effective != c.old_tier
        or computed != c.old_computed
        or c.new_revenue != c.old_revenue
        or c.new_source != c.old_source
        or expired
    )
    return Rescored(band, score, computed, effective, expired, changed)


async def _recalculate_in_python(session: AsyncSession, spec: sql.RecalculationInput) -> sql.RecalculationCounts:
    """The SQLite path: the same rules with ``Decimal`` in Python, written back in batches."""
    candidates, skipped = await sql.read_candidates(session, spec)
    changes: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    moved: list[RecalculatedScore] = []
    failed = 0
    headers = current_trace_headers()
    for c in candidates:
        if c.failed:
            failed += 1
            continue
        new = rescore(c, spec)
        if not new.changed:
            continue
        receipt_id = derived_event_id(f"{spec.run_id}:{c.client_id}")
        cause = TierChangeCause.EXPIRY if new.override_expired else TierChangeCause.RECALCULATION
        changes.append(_score_change(c, new, receipt_id, spec))
        receipts.append(_brief_receipt(c, new, receipt_id, cause))
        if new.effective_tier != c.old_tier:
            events.append(_tier_changed_outbox_row(c, new, receipt_id, cause, spec, headers))
        if new.score != c.old_score:
            moved.append(
                RecalculatedScore(
                    client_id=c.client_id,
                    score=new.score,
                    computed_tier=Tier(new.computed_tier),
                    effective_tier=Tier(new.effective_tier),
                )
            )
    # Expired overrides must be split out: executemany needs one statement shape per batch.
    plain = [c for c in changes if "override_tier" not in c]
    cleared = [c for c in changes if "override_tier" in c]
    await sql.write_changes(session, plain, [], [])
    await sql.write_changes(session, cleared, [], [])
    parts = [_outbox_row(part, spec, headers) for part in scores_recalculated(moved, spec)]
    await sql.write_changes(session, [], await _full_receipts(session, receipts, spec), events + parts)
    return sql.RecalculationCounts(len(candidates) - failed, len(events), skipped, failed)


def scores_recalculated(moved: list[RecalculatedScore], spec: sql.RecalculationInput) -> list[Envelope[Any]]:
    """The ScoresRecalculated parts of a run's moved scores, ordered by client id, ids stable across redeliveries."""
    moved = sorted(moved, key=lambda m: m.client_id)
    size = sql.SCORES_PER_EVENT
    return [
        wrap(
            ScoresRecalculated(period=spec.period, run_id=spec.run_id, part=part, scores=moved[start : start + size]),
            source=SOURCE,
            event_id=sql.scores_recalculated_event_id(spec.run_id, part),
            time=spec.now,
        )
        for part, start in enumerate(range(0, len(moved), size))
    ]


def _outbox_row(event: Envelope[Any], spec: sql.RecalculationInput, headers: dict[str, str]) -> dict[str, Any]:
    """An event as an outbox row the SQLite path writes in its batch."""
    return {
        "event_id": event.id,
        "subject": event.data.subject,
        "stream": event.data.stream.value,
        "payload": event.to_json(),
        "headers": headers,
        "created_at": spec.now,
    }


def _score_change(c: sql.Candidate, new: Rescored, receipt_id: str, spec: sql.RecalculationInput) -> dict[str, Any]:
    """The ``client_scores`` update of a rescored client (its override dropped when it expired)."""
    change: dict[str, Any] = {
        "b_client_id": c.client_id,
        "revenue_base_minor": c.new_revenue,
        "revenue_currency": spec.base_currency,
        "revenue_source": c.new_source,
        "money_rating": new.band,
        "score": new.score,
        "computed_tier": new.computed_tier,
        "effective_tier": new.effective_tier,
        "receipt_id": receipt_id,
        "updated_at": spec.now,
    }
    if new.override_expired:
        change |= {
            "override_tier": None,
            "override_reason": None,
            "override_expires_at": None,
            "override_by": None,
            "override_at": None,
        }
    return change


def _brief_receipt(c: sql.Candidate, new: Rescored, receipt_id: str, cause: TierChangeCause) -> dict[str, Any]:
    """What the run knows of a receipt; ``_full_receipts`` adds the stored ratings and override."""
    return {
        "id": receipt_id,
        "client_id": c.client_id,
        "kind": cause.value,
        "track": c.track,
        "score": new.score,
        "computed_tier": new.computed_tier,
        "effective_tier": new.effective_tier,
        "band": new.band,
        "revenue": c.new_revenue,
        "source": c.new_source,
    }


def _tier_changed_outbox_row(
    c: sql.Candidate,
    new: Rescored,
    receipt_id: str,
    cause: TierChangeCause,
    spec: sql.RecalculationInput,
    headers: dict[str, str],
) -> dict[str, Any]:
    """The outbox row of a client's TierChanged, with an id stable across redeliveries of the run."""
    event = wrap(
        TierChanged(
            client_id=c.client_id,
            old_tier=Tier(c.old_tier),
            new_tier=Tier(new.effective_tier),
            old_score=c.old_score,
            new_score=new.score,
            cause=cause,
            receipt_id=receipt_id,
            changed_by=spec.actor,
        ),
        source=SOURCE,
        event_id=sql.tier_changed_event_id(spec.run_id, c.client_id),
        time=spec.now,
    )
    return {
        "event_id": event.id,
        "subject": TierChanged.subject,
        "stream": TierChanged.stream.value,
        "payload": event.to_json(),
        "headers": headers,
        "created_at": spec.now,
    }


async def _full_receipts(
    session: AsyncSession, brief: list[dict[str, Any]], spec: sql.RecalculationInput
) -> list[dict[str, Any]]:
    """Receipt rows for the changed clients, with their stored ratings and override (read back in one query)."""
    rows = {row.client_id: row for row in await ScoreRepository(session).of_clients([b["client_id"] for b in brief])}
    full = []
    for b in brief:
        row = rows[b["client_id"]]
        full.append(
            {
                "id": b["id"],
                "client_id": b["client_id"],
                "kind": b["kind"],
                "track": b["track"],
                "ratings": dict(row.ratings),
                "money_rating": b["band"],
                "revenue_base_minor": b["revenue"],
                "base_currency": spec.base_currency,
                "revenue_source": b["source"],
                "window_start": spec.window_start,
                "window_end": spec.window_end,
                "weights": json.loads(json.dumps(spec.weights_by_track[b["track"]])),
                "score": Decimal(b["score"]),
                "computed_tier": b["computed_tier"],
                "effective_tier": b["effective_tier"],
                "framework_version": row.framework_version,
                "override_tier": row.override_tier,
                "override_reason": row.override_reason,
                "override_expires_at": row.override_expires_at,
                "period": spec.period,
                "actor": spec.actor,
                "recorded_at": spec.now,
            }
        )
    return full


async def _flag_stale_in_python(session: AsyncSession, spec: sql.RecalculationInput, stale_before: datetime) -> int:
    """The SQLite path of flagging ratings that turned stale, one ScoreRecorded (stale) each."""
    rows = await sql.newly_stale(session, stale_before)
    for row in rows:
        row.stale_flagged_at = spec.now
        await record_event(
            session,
            wrap(
                ScoreRecorded(
                    client_id=row.client_id,
                    receipt_id=row.receipt_id,
                    track=row.track,
                    score=row.score,
                    computed_tier=Tier(row.computed_tier),
                    effective_tier=Tier(row.effective_tier),
                    framework_version=row.framework_version,
                    ratings_recorded_at=row.ratings_recorded_at,
                    stale=True,
                    recorded_by=spec.actor,
                ),
                source=SOURCE,
                event_id=derived_event_id(f"stale:{spec.run_id}:{row.client_id}"),
                time=spec.now,
            ),
        )
    return len(rows)
