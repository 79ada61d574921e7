"""result sources: which clients have results (from SyncCompleted and BackfillCompleted)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clientpulse.shared.db


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('result_sources',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=True),
    sa.Column('last_synced_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'connection_id', name=op.f('pk_result_sources'))
    )


def downgrade() -> None:
    op.drop_table('result_sources')
