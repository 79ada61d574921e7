"""account metrics of every platform: breakdowns, per-window counts, failed backfill parts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clientpulse.shared.db


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'metric_breakdown_daily',
        sa.Column('connection_id', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('metric_key', sa.String(length=60), nullable=False),
        sa.Column('dimension', sa.String(length=40), nullable=False),
        sa.Column('member', sa.String(length=200), nullable=False),
        sa.Column('label', sa.String(length=500), nullable=True),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=40), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('is_final', sa.Boolean(), nullable=False),
        sa.Column('fetched_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('connection_id', 'day', 'metric_key', 'dimension', 'member', name=op.f('pk_metric_breakdown_daily')),
    )
    op.create_index('ix_metric_breakdown_daily_client_day', 'metric_breakdown_daily', ['client_id', 'day'], unique=False)
    op.create_table(
        'metric_window',
        sa.Column('connection_id', sa.String(length=64), nullable=False),
        sa.Column('metric_key', sa.String(length=60), nullable=False),
        sa.Column('window_start', sa.Date(), nullable=False),
        sa.Column('window_end', sa.Date(), nullable=False),
        sa.Column('dimension', sa.String(length=40), nullable=False),
        sa.Column('member', sa.String(length=200), nullable=False),
        sa.Column('label', sa.String(length=500), nullable=True),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=40), nullable=False),
        sa.Column('category', sa.String(length=30), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('fetched_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            'connection_id', 'metric_key', 'window_start', 'window_end', 'dimension', 'member', name=op.f('pk_metric_window')
        ),
    )
    op.create_index('ix_metric_window_client_window', 'metric_window', ['client_id', 'window_start', 'window_end'], unique=False)
    with op.batch_alter_table('backfills') as batch:
        batch.add_column(sa.Column('slices_failed', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('backfills') as batch:
        batch.drop_column('slices_failed')
    op.drop_index('ix_metric_window_client_window', table_name='metric_window')
    op.drop_table('metric_window')
    op.drop_index('ix_metric_breakdown_daily_client_day', table_name='metric_breakdown_daily')
    op.drop_table('metric_breakdown_daily')
