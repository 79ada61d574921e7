"""The tables of the event backbone, created in every service's own database by its migrations.

- ``outbox``: events committed with the state change that caused them, waiting to be published.
- ``inbox``: the event ids each consumer has applied, written in the same transaction as the effect.
- ``dead_letters``: messages JetStream gave up on (max deliveries reached, or terminated as invalid).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from clientpulse.shared.db import UTCDateTime, new_metadata

MESSAGING_METADATA = new_metadata()

_BigIntId = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    MESSAGING_METADATA,
    Column("seq", _BigIntId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
)
Index(
    "ix_outbox_pending",
    outbox.c.seq,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

inbox = Table(
    "inbox",
    MESSAGING_METADATA,
    Column("consumer", String(120), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("handled_at", UTCDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    MESSAGING_METADATA,
    Column("id", _BigIntId, primary_key=True, autoincrement=True),
    Column("consumer", String(120), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
    Column("subject", String(200), nullable=True),
    Column("event_id", String(64), nullable=True),
    Column("reason", String(32), nullable=False),
    Column("deliveries", Integer, nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("captured_at", UTCDateTime, nullable=False),
)
Index("uq_dead_letters_message", dead_letters.c.consumer, dead_letters.c.stream, dead_letters.c.stream_seq, unique=True)
