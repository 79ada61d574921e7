"""Notification rules: who is told what."""

from clientpulse.notifications.domain.rules import on_client_created
from clientpulse.shared.contracts.events import ClientCreated, ClientStatus


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
