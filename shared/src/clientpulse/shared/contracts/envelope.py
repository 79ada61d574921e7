"""The CloudEvents 1.0 envelope and the base of every event payload.

Payloads are frozen pydantic models, one class per versioned event. They are *encoded strictly*
(constructing one with an unknown or missing field fails) and *decoded leniently* (fields a newer
producer added are ignored), so a version can grow by adding fields without breaking consumers.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

import uuid_utils
from pydantic import BaseModel, ConfigDict, Field

SOURCE_PREFIX = "/clientpulse/"
# Namespace for event ids derived from a natural key (a recalculation period, an invoice id).
DERIVED_ID_NAMESPACE = uuid.UUID("5b0a8f3e-3f7c-4b8e-9a51-6c9d0f1c2a77")


class Stream(enum.StrEnum):
    """One JetStream stream per producing context (docs/events.md)."""

    BILLING = "BILLING"
    CRM = "CRM"
    CLIENTS = "CLIENTS"
    TIERING = "TIERING"
    RESULTS = "RESULTS"
    INSIGHTS = "INSIGHTS"

    @property
    def subjects(self) -> list[str]:
        """The subject filter the stream captures: every version of its context."""
        return [f"{STREAM_CONTEXT[self]}.>"]


STREAM_CONTEXT: dict[Stream, str] = {
    Stream.BILLING: "billing",
    Stream.CRM: "crm",
    Stream.CLIENTS: "clients",
    Stream.TIERING: "tiering",
    Stream.RESULTS: "results",
    Stream.INSIGHTS: "insights",
}


def new_event_id() -> str:
    """A fresh, time-ordered event id (UUIDv7)."""
    return str(uuid_utils.uuid7())


def derived_event_id(natural_key: str) -> str:
    """An event id that is the same every time for the same natural key.

    Used for command events a CronJob may fire twice (``recalculation:2026-12``): JetStream's
    duplicate window and every consumer's inbox then see one event.
    """
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, natural_key))


class EventData(BaseModel):
    """The payload of one versioned event; subclasses set the class variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    subject: ClassVar[str]
    stream: ClassVar[Stream]

    @classmethod
    def decode(cls, data: dict[str, Any]) -> EventData:
        """Validate a payload, ignoring fields this version does not know."""
        known = {key: value for key, value in data.items() if key in cls.model_fields}
        return cls.model_validate(known)

    @classmethod
    def cloudevents_type(cls) -> str:
        """The CloudEvents ``type`` attribute: the versioned subject under the project's name."""
        return f"clientpulse.{cls.subject}"

    def client_subject(self) -> str | None:
        """The client the event is about (the envelope's ``subject``), when it has one."""
        value = getattr(self, "client_id", None)
        return str(value) if value is not None else None


D = TypeVar("D", bound=EventData)


class Envelope(BaseModel, Generic[D]):
    """A CloudEvents 1.0 structured event, as carried in a NATS message body."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: D

    def to_json(self) -> bytes:
        """The wire form."""
        return self.model_dump_json().encode()


def wrap(
    data: D,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope[D]:
    """Put a payload in its envelope, stamping id, type, time and the client subject."""
    envelope_class: Any = Envelope[type(data)]  # type: ignore[misc]
    return envelope_class(  # type: ignore[no-any-return]
        id=event_id or new_event_id(),
        source=source if source.startswith("/") else SOURCE_PREFIX + source,
        type=data.cloudevents_type(),
        time=time or datetime.now(UTC),
        subject=data.client_subject(),
        data=data,
    )


class EnvelopeHeader(BaseModel):
    """The envelope without its data, read first to find which payload class to decode."""

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str
    type: str
    time: datetime
    subject: str | None = None
    data: dict[str, Any]
