"""The event backbone: outbox, inbox, durable consumers and dead letters over NATS JetStream."""

from clientpulse.shared.messaging.broker import Deferred, EventBus, PermanentFailure, StreamSettings, create_broker
from clientpulse.shared.messaging.inbox import claim
from clientpulse.shared.messaging.outbox import OutboxRelay, record_event
from clientpulse.shared.messaging.tables import MESSAGING_METADATA, dead_letters, inbox, outbox

__all__ = [
    "MESSAGING_METADATA",
    "Deferred",
    "EventBus",
    "OutboxRelay",
    "PermanentFailure",
    "StreamSettings",
    "claim",
    "create_broker",
    "dead_letters",
    "inbox",
    "outbox",
    "record_event",
]
