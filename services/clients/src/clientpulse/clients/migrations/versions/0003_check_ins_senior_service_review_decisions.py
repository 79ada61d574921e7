"""check-ins, Platinum service and Review decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
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
    op.create_table('check_ins',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('held_by', sa.String(length=120), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('logged_by', sa.String(length=120), nullable=False),
    sa.Column('logged_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_check_ins_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins'))
    )
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.create_index('ix_check_ins_client_held', ['client_id', 'held_on'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platinum_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('last_check_in_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('check_in_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('check_in_due_reported_for', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('check_in_overdue_reported_for', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('review_decision', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('review_decision_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('review_decided_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_decided_by', sa.String(length=120), nullable=True))
        batch_op.create_index('ix_clients_status_check_in_due_on', ['status', 'check_in_due_on'], unique=False)

    # Clients already Platinum count as Platinum since their tier last arrived; their first check-in
    # falls due a month after it.
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE clients SET platinum_since = date(tier_at) WHERE tier = 'Platinum'"))
    if bind.dialect.name == "postgresql":
        due = "(platinum_since + interval '1 month')::date"
    else:
        due = "date(platinum_since, '+1 month')"
    bind.execute(sa.text(f"UPDATE clients SET check_in_due_on = {due} WHERE platinum_since IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_status_check_in_due_on')
        batch_op.drop_column('review_decided_by')
        batch_op.drop_column('review_decided_at')
        batch_op.drop_column('review_decision_reason')
        batch_op.drop_column('review_decision')
        batch_op.drop_column('check_in_overdue_reported_for')
        batch_op.drop_column('check_in_due_reported_for')
        batch_op.drop_column('check_in_due_on')
        batch_op.drop_column('last_check_in_on')
        batch_op.drop_column('platinum_since')

    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_check_ins_client_held')

    op.drop_table('check_ins')
