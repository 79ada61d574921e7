"""Migration steps every service shares: the backbone's tables and the client directory replica.

Each service's first migration calls these instead of repeating the DDL. They are versioned and
frozen: a later change to these tables is a new ``…_v2`` step called from a new migration, never an
edit here, so replaying an old migration always builds the same schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clientpulse.shared.db import UTCDateTime

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PENDING = sa.text("published_at IS NULL")


def create_messaging_tables_v1() -> None:
    """Create ``outbox``, ``inbox`` and ``dead_letters`` (see ``clientpulse.shared.messaging.tables``)."""
    op.create_table(
        "outbox",
        sa.Column("seq", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_pending", "outbox", ["seq"], unique=False, postgresql_where=_PENDING, sqlite_where=_PENDING
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("stream_seq", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index("uq_dead_letters_message", "dead_letters", ["consumer", "stream", "stream_seq"], unique=True)


def drop_messaging_tables_v1() -> None:
    """Undo ``create_messaging_tables_v1``."""
    op.drop_index("uq_dead_letters_message", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")


def create_client_directory_v1() -> None:
    """Create ``client_directory`` (see ``clientpulse.shared.client_directory``)."""
    op.create_table(
        "client_directory",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("name_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=True),
        sa.Column("dm_id", sa.String(length=120), nullable=True),
        sa.Column("squad_id", sa.String(length=120), nullable=True),
        sa.Column("assigned_at", UTCDateTime(), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("parent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_directory")),
    )


def drop_client_directory_v1() -> None:
    """Undo ``create_client_directory_v1``."""
    op.drop_table("client_directory")
