"""productive links, group portfolios, framework versions and proposals

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clientpulse.shared.db


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('productive_links',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('company_id', sa.String(length=64), nullable=False),
    sa.Column('linked_by', sa.String(length=120), nullable=False),
    sa.Column('linked_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revenue_base_minor', sa.BigInteger(), nullable=True),
    sa.Column('revenue_invoices', sa.Integer(), nullable=True),
    sa.Column('revenue_window_end', sa.Date(), nullable=True),
    sa.Column('revenue_fetched_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_productive_links'))
    )
    op.create_table('group_portfolios',
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=True),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('updated_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_group_portfolios'))
    )
    op.create_table('framework_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('band_floors', sa.JSON(), nullable=False),
    sa.Column('proposal_id', sa.String(length=64), nullable=False),
    sa.Column('published_by', sa.String(length=120), nullable=False),
    sa.Column('published_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_framework_versions')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_framework_versions_proposal_id'))
    )
    op.create_table('framework_proposals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('band_floors', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('proposed_by', sa.String(length=120), nullable=False),
    sa.Column('proposed_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('published_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_proposals'))
    )


def downgrade() -> None:
    op.drop_table('framework_proposals')
    op.drop_table('framework_versions')
    op.drop_table('group_portfolios')
    op.drop_table('productive_links')
