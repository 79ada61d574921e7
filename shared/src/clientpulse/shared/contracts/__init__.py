"""Event contracts: the CloudEvents envelope and every versioned event of the catalogue."""

from clientpulse.shared.contracts.envelope import (
    Envelope,
    EnvelopeHeader,
    EventData,
    Stream,
    derived_event_id,
    new_event_id,
    wrap,
)
from clientpulse.shared.contracts.events import *  # noqa: F403
from clientpulse.shared.contracts.events import CATALOGUE, EVENTS_BY_NAME, EVENTS_BY_SUBJECT

__all__ = [
    "CATALOGUE",
    "EVENTS_BY_NAME",
    "EVENTS_BY_SUBJECT",
    "Envelope",
    "EnvelopeHeader",
    "EventData",
    "Stream",
    "derived_event_id",
    "new_event_id",
    "wrap",
]
