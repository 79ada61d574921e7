"""summaries, summary requests, questions, model spending; analyses kept as free text

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 09:00:00.000000
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
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.String(length=20), server_default='structured', nullable=False))
        batch_op.add_column(sa.Column('text', sa.Text(), nullable=True))
        batch_op.alter_column('health_score', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('status', existing_type=sa.String(length=20), nullable=True)
    op.create_table('summaries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('generated_by', sa.String(length=120), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_summaries'))
    )
    op.create_index('ix_summaries_client_created', 'summaries', ['client_id', 'created_at'], unique=False)
    op.create_table('summary_requests',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('first_event_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_event_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('triggers', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_summary_requests'))
    )
    op.create_table('questions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('asked_by', sa.String(length=120), nullable=False),
    sa.Column('asked_at', clientpulse.shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('citations', sa.JSON(), nullable=False),
    sa.Column('tool_calls', sa.JSON(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('generated_by', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions'))
    )
    op.create_index('ix_questions_client_asked', 'questions', ['client_id', 'asked_at'], unique=False)
    op.create_table('model_spending',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'client_id', name=op.f('pk_model_spending'))
    )


def downgrade() -> None:
    op.drop_table('model_spending')
    op.drop_index('ix_questions_client_asked', table_name='questions')
    op.drop_table('questions')
    op.drop_table('summary_requests')
    op.drop_index('ix_summaries_client_created', table_name='summaries')
    op.drop_table('summaries')
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('health_score', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('text')
        batch_op.drop_column('format')
