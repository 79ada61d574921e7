"""QBR cadence, due dates and overdue at their boundaries (docs/domain-rules.md, "QBRs")."""

from __future__ import annotations

from datetime import date

import pytest

from clientpulse.clients.domain.qbrs import qbr_due_date, qbr_overdue
from clientpulse.shared.contracts.events import ClientStatus, Tier


@pytest.mark.parametrize(
    ("tier", "last", "due"),
    [
        (Tier.PLATINUM, date(2026, 1, 15), date(2026, 4, 15)),
        (Tier.CORE, date(2026, 1, 15), date(2026, 7, 15)),
        (Tier.STANDARD, date(2026, 1, 15), date(2027, 1, 15)),
        (Tier.REVIEW, date(2026, 1, 15), date(2027, 1, 15)),
        (None, date(2026, 1, 15), date(2027, 1, 15)),
        (Tier.PLATINUM, date(2026, 11, 30), date(2027, 2, 28)),  # clamped to the shorter month
        (Tier.CORE, date(2027, 8, 31), date(2028, 2, 29)),  # leap year
    ],
)
def test_qbr_due_date_per_tier(tier: Tier | None, last: date, due: date) -> None:
    assert qbr_due_date(tier, last_qbr_on=last, active_since=date(2020, 1, 1)) == due


def test_a_client_with_no_qbr_is_due_one_cadence_after_becoming_active() -> None:
    assert qbr_due_date(Tier.PLATINUM, last_qbr_on=None, active_since=date(2026, 3, 1)) == date(2026, 6, 1)
    assert qbr_due_date(None, last_qbr_on=None, active_since=None) is None


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        (ClientStatus.ACTIVE, date(2026, 6, 1), False),  # the due day itself is not late
        (ClientStatus.ACTIVE, date(2026, 6, 2), True),
        (ClientStatus.DORMANT, date(2026, 9, 1), False),
        (ClientStatus.PROSPECT, date(2026, 9, 1), False),
    ],
)
def test_only_active_clients_past_due_are_overdue(status: ClientStatus, today: date, overdue: bool) -> None:
    assert qbr_overdue(status, date(2026, 6, 1), today) is overdue


def test_overdue_with_no_qbr_yet_once_active_longer_than_one_cadence() -> None:
    due = qbr_due_date(Tier.CORE, last_qbr_on=None, active_since=date(2026, 1, 10))
    assert not qbr_overdue(ClientStatus.ACTIVE, due, date(2026, 7, 10))
    assert qbr_overdue(ClientStatus.ACTIVE, due, date(2026, 7, 11))
    assert not qbr_overdue(ClientStatus.ACTIVE, None, date(2030, 1, 1))
