"""What the insights service does with other contexts' events."""

from __future__ import annotations

from clientpulse.shared.client_directory import register_client_directory
from clientpulse.shared.messaging import EventBus


def register(bus: EventBus) -> None:
    """Subscribe the insights service's consumers."""
    register_client_directory(bus)
