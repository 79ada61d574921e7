"""ads with their copy: one row per ad and account-local day

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clientpulse.shared.db


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ad_daily',
        sa.Column('connection_id', sa.String(length=64), nullable=False),
        sa.Column('ad_id', sa.String(length=120), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=40), nullable=False),
        sa.Column('campaign_id', sa.String(length=120), nullable=False),
        sa.Column('ad_name', sa.String(length=500), nullable=True),
        sa.Column('headlines', sa.JSON(), nullable=False),
        sa.Column('bodies', sa.JSON(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('spend_minor', sa.BigInteger(), nullable=False),
        sa.Column('impressions', sa.BigInteger(), nullable=False),
        sa.Column('clicks', sa.BigInteger(), nullable=False),
        sa.Column('conversions_e4', sa.BigInteger(), nullable=False),
        sa.Column('conversion_value_minor', sa.BigInteger(), nullable=False),
        sa.Column('is_final', sa.Boolean(), nullable=False),
        sa.Column('fetched_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('connection_id', 'ad_id', 'day', name=op.f('pk_ad_daily')),
    )
    op.create_index('ix_ad_daily_client_day', 'ad_daily', ['client_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ad_daily_client_day', table_name='ad_daily')
    op.drop_table('ad_daily')
