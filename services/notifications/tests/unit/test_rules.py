"""Notification rules: who is told what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from clientpulse.notifications.domain import rules
from clientpulse.notifications.domain.rules import on_client_created
from clientpulse.shared.contracts.events import (
    BackfillCompleted,
    BackfillFailed,
    ClientAssigned,
    ClientCreated,
    ClientStatus,
    ConnectionExpiring,
    DealWon,
    HealthBand,
    HealthScoreRecorded,
    QbrOverdue,
    RecalculationCompleted,
    Tier,
    TierChangeCause,
    TierChanged,
)


@dataclass(frozen=True)
class Entry:
    name: str | None
    dm_id: str | None


ACME = Entry("Acme", "u-42")


def created(dm_id: str | None) -> ClientCreated:
    return ClientCreated(client_id="c-1", name="Acme", status=ClientStatus.ACTIVE, dm_id=dm_id, created_by="u-1")


def test_a_new_client_tells_its_dm() -> None:
    (message,) = on_client_created(created("u-42"))
    assert message.recipient_id == "u-42"
    assert message.client_id == "c-1"
    assert "Acme" in message.title
    assert message.link == "/clients/c-1"


def test_a_new_client_without_a_dm_tells_nobody() -> None:
    assert on_client_created(created(None)) == []


@pytest.mark.parametrize(
    ("dm_id", "previous", "told"),
    [("u-9", "u-42", ["u-9"]), ("u-42", "u-42", []), (None, "u-42", [])],
)
def test_a_reassignment_tells_the_new_dm_only(dm_id: str | None, previous: str, told: list[str]) -> None:
    event = ClientAssigned(client_id="c-1", dm_id=dm_id, squad_id="s-1", previous_dm_id=previous, assigned_by="u-x")
    assert [m.recipient_id for m in rules.on_client_assigned(event, ACME)] == told


def tier_changed(old: Tier | None = Tier.CORE, cause: TierChangeCause = TierChangeCause.SCORE_NOW) -> TierChanged:
    return TierChanged(
        client_id="c-1",
        old_tier=old,
        new_tier=Tier.PLATINUM,
        old_score=Decimal("3.95"),
        new_score=Decimal("4.05"),
        cause=cause,
        receipt_id="r-7",
    )


def test_a_tier_change_tells_the_assigned_dm_old_new_score_cause_and_receipt() -> None:
    (message,) = rules.on_tier_changed(tier_changed(), ACME)
    assert message.recipient_id == "u-42"
    assert message.title == "Acme: Core → Platinum"
    assert "4.05" in message.body and "a new score" in message.body
    assert message.link == "/clients/c-1/tiering/history#r-7"


def test_a_first_tier_reads_unscored_and_names_the_recalculation() -> None:
    (message,) = rules.on_tier_changed(tier_changed(None, TierChangeCause.RECALCULATION), ACME)
    assert message.title == "Acme: unscored → Platinum"
    assert "monthly recalculation" in message.body


def test_a_tier_change_of_a_client_without_a_dm_tells_nobody() -> None:
    assert rules.on_tier_changed(tier_changed(), Entry("Acme", None)) == []


@pytest.mark.parametrize(
    ("score", "previous", "enters"),
    [
        (39, HealthBand.AMBER, True),
        (40, HealthBand.AMBER, False),  # 40 is Amber
        (0, None, True),  # a first score in the Red counts
        (12, HealthBand.RED, False),  # staying Red tells nobody again
        (39, HealthBand.GREEN, True),
    ],
)
def test_health_enters_red_below_40_only_once(score: int, previous: HealthBand | None, enters: bool) -> None:
    assert rules.enters_red(score, previous) is enters
    event = HealthScoreRecorded(
        client_id="c-1",
        health_id="h-1",
        score=score,
        band=HealthBand.RED if score < 40 else HealthBand.AMBER,
        previous_band=previous,
        recorded_by="u-42",
        recorded_at=datetime.now(UTC),
    )
    assert [m.recipient_id for m in rules.on_health_recorded(event, ACME)] == (["u-42"] if enters else [])


def overdue(dm_id: str | None = "u-old") -> QbrOverdue:
    return QbrOverdue(client_id="c-1", due_on=date(2026, 10, 1), days_overdue=3, dm_id=dm_id, squad_id="s-1")


def test_an_overdue_qbr_tells_the_replicas_dm_else_the_events() -> None:
    assert [m.recipient_id for m in rules.on_qbr_overdue(overdue(), ACME)] == ["u-42"]
    assert [m.recipient_id for m in rules.on_qbr_overdue(overdue(), None)] == ["u-old"]
    assert rules.on_qbr_overdue(overdue(None), None) == []


def test_escalation_comes_14_more_days_after_the_dm_was_told() -> None:
    assert rules.escalation_date(date(2026, 10, 1), 3, 14) == date(2026, 10, 18)
    assert rules.escalation_date(date(2026, 12, 31), 0, 14) == date(2027, 1, 14)


def test_an_escalation_goes_to_the_heads_of_the_clients_squad_only() -> None:
    heads = {"s-1": ["u-head-1", "u-head-1b"], "s-2": ["u-head-2"]}
    told = rules.qbr_escalation("c-1", "Acme", date(2026, 10, 1), "s-1", heads)
    assert [m.recipient_id for m in told] == ["u-head-1", "u-head-1b"]
    assert rules.qbr_escalation("c-1", "Acme", date(2026, 10, 1), None, heads) == []


def deal(owner: str | None) -> DealWon:
    return DealWon(deal_id="d-1", client_id="co-1", company_name="Harbor", owner_id=owner, won_at=datetime.now(UTC))


def test_a_won_deal_tells_its_owner_else_every_head() -> None:
    assert [m.recipient_id for m in rules.on_deal_won(deal("u-7"), ["u-h1", "u-h2"])] == ["u-7"]
    assert [m.recipient_id for m in rules.on_deal_won(deal(None), ["u-h1", "u-h2"])] == ["u-h1", "u-h2"]


def test_a_backfill_tells_whoever_requested_it() -> None:
    done = BackfillCompleted(backfill_id="b-1", client_id="c-1", days=30, rows_written=120, requested_by="u-5")
    failed = BackfillFailed(backfill_id="b-2", client_id="c-1", days=60, reason="token expired", requested_by="u-6")
    (ok,) = rules.on_backfill_finished(done, ACME)
    (ko,) = rules.on_backfill_finished(failed, None)
    assert (ok.recipient_id, ok.rule) == ("u-5", "backfill_completed")
    assert (ko.recipient_id, ko.rule) == ("u-6", "backfill_failed")
    assert "token expired" in ko.body


def test_a_connection_that_cannot_be_renewed_asks_the_dm_to_reconnect_before_it_ends() -> None:
    event = ConnectionExpiring(
        client_id="c-1",
        connection_id="conn-1",
        platform="meta_ads",
        platform_name="Meta Ads",
        account_id="1001",
        account_name="Acme EU",
        expires_at=datetime(2026, 12, 12, 9, tzinfo=UTC),
    )
    (message,) = rules.on_connection_expiring(event, ACME)
    assert (message.recipient_id, message.rule, message.client_id) == ("u-42", "connection_expiring", "c-1")
    assert "Meta Ads" in message.title and "2026-12-12" in message.title and "Acme" in message.title
    assert "Acme EU (1001)" in message.body and "connect the account again" in message.body
    assert rules.on_connection_expiring(event, Entry("Acme", None)) == []


def test_a_recalculation_tells_every_executive_the_counts() -> None:
    event = RecalculationCompleted(
        period="2026-12", run_id="run-1", recalculated=120, changed=7, skipped_never_scored=3, failed=0
    )
    messages = rules.on_recalculation_completed(event, ["u-exec", "u-exec-2"])
    assert [m.recipient_id for m in messages] == ["u-exec", "u-exec-2"]
    assert "7 changed tier" in messages[0].body and "3 never scored" in messages[0].body


@pytest.mark.parametrize(
    ("latest", "counted_from", "held"),
    [
        (None, None, False),
        (date(2026, 10, 6), None, True),  # never had a QBR: any QBR ends the episode
        (date(2026, 10, 6), date(2026, 4, 1), True),
        (date(2026, 4, 1), date(2026, 4, 1), False),  # the QBR the episode counted from
        (date(2026, 3, 1), date(2026, 4, 1), False),  # an older one arriving late
    ],
)
def test_an_episode_ends_with_a_qbr_held_after_the_one_it_counted_from(latest, counted_from, held) -> None:
    assert rules.qbr_held_since(latest, counted_from) is held
