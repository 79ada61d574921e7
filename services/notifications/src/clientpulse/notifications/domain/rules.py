"""Notification rules: which event tells whom what. Pure: they return messages, they store nothing."""

from __future__ import annotations

from dataclasses import dataclass

from clientpulse.shared.contracts.events import ClientCreated


@dataclass(frozen=True, slots=True)
class Message:
    """A notification to be delivered to one recipient."""

    recipient_id: str
    rule: str
    title: str
    body: str
    client_id: str | None
    link: str | None


def client_link(client_id: str) -> str:
    """Where the frontend shows a client."""
    return f"/clients/{client_id}"


def on_client_created(event: ClientCreated) -> list[Message]:
    """A new client with a delivery manager: tell the DM they look after it now."""
    if not event.dm_id:
        return []
    return [
        Message(
            recipient_id=event.dm_id,
            rule="client_assigned",
            title=f"You are the delivery manager of {event.name}",
            body=f"{event.name} became a client ({event.status.value}) and is assigned to you.",
            client_id=event.client_id,
            link=client_link(event.client_id),
        )
    ]
