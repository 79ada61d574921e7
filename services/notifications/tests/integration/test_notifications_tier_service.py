"""The tier service approach reaching people, on real NATS and PostgreSQL: a Platinum client's check-in
falling due or overdue tells its DM once, and a Platinum client without a senior DM tells the Heads of its
squad (every Head when its squad has none configured)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from notifications_testkit import HEADS, RunningService, settle

from clientpulse.shared.contracts.events import CheckInDue, CheckInOverdue, SeniorDmMissing

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_check_ins_due_and_overdue_tell_the_dm_once(service: RunningService) -> None:
    client_id = await service.create_client("u-42", name="Platinum Partners")
    due = CheckInDue(client_id=client_id, due_on=date(2026, 12, 10), dm_id="u-42", squad_id="s-1")
    overdue = CheckInOverdue(client_id=client_id, due_on=date(2026, 12, 10), days_overdue=4, dm_id="u-42")
    (due_envelope,) = await service.publish(due, source="clients")
    await service.publish(due_envelope, overdue, source="clients")  # the reminder arrives twice

    (reminder,) = await service.wait_for("u-42", client_id=client_id, rule="check_in_due")
    assert reminder["title"] == "Monthly check-in due for Platinum Partners"
    assert "2026-12-10" in reminder["body"]
    (late,) = await service.wait_for("u-42", client_id=client_id, rule="check_in_overdue")
    assert "4 days overdue" in late["body"] and late["link"] == f"/clients/{client_id}/check-ins"
    await settle()
    assert len(await service.inbox("u-42", client_id=client_id)) == 3  # assigned, due, overdue


async def test_a_platinum_client_without_a_senior_dm_tells_the_heads(service: RunningService) -> None:
    own_squad = await service.create_client("u-42", squad_id="s-1", name="Junior Led")
    no_heads = await service.create_client("u-43", squad_id="s-9", name="Unheaded Squad")
    await service.publish(
        SeniorDmMissing(client_id=own_squad, dm_id="u-42", squad_id="s-1"),
        SeniorDmMissing(client_id=no_heads, dm_id="u-43", squad_id="s-9"),
        source="clients",
    )
    (told,) = await service.wait_for(HEADS[0], client_id=own_squad, rule="senior_dm_missing")
    assert told["title"] == "Junior Led is Platinum without a senior DM"
    assert "DM u-42" in told["body"]
    for head in HEADS:  # s-9 has no Head configured: every Head hears of it
        await service.wait_for(head, client_id=no_heads, rule="senior_dm_missing")
    await settle()
    assert await service.inbox(HEADS[1], client_id=own_squad) == []
    assert await service.inbox("u-42", client_id=own_squad, rule="senior_dm_missing") == []
