"""connection options, throttling and token expiry; deferred backfill slices

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clientpulse.shared.db


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('connections') as batch:
        batch.add_column(sa.Column('options', sa.JSON(), server_default='{}', nullable=False))
        batch.add_column(sa.Column('throttled_until', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('credentials_expire_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('expiry_warned_for', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('oauth_states') as batch:
        batch.add_column(sa.Column('options', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('backfill_slices') as batch:
        batch.add_column(sa.Column('deferrals', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('waiting_until', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('backfill_slices') as batch:
        batch.drop_column('waiting_until')
        batch.drop_column('deferrals')
    with op.batch_alter_table('connections') as batch:
        batch.drop_column('expiry_warned_for')
        batch.drop_column('credentials_expire_at')
        batch.drop_column('throttled_until')
        batch.drop_column('options')
    with op.batch_alter_table('oauth_states') as batch:
        batch.drop_column('options')
