"""campaign window covering index

The client/day index of campaign_daily also carries what the campaign table sums, so a client's
window is an index-only scan on PostgreSQL. Built concurrently there (no write lock on a large
table), and autovacuum visits the table sooner so the pages the daily re-reads touch become
all-visible again quickly (an index-only scan reads the heap for pages that are not).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = [
    "connection_id",
    "campaign_id",
    "spend_minor",
    "impressions",
    "clicks",
    "conversions_e4",
    "conversion_value_minor",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index("ix_campaign_daily_client_day", table_name="campaign_daily")
        op.create_index("ix_campaign_daily_client_day_sums", "campaign_daily", ["client_id", "day"])
        return
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_campaign_daily_client_day_sums "
            f"ON campaign_daily (client_id, day) INCLUDE ({', '.join(SUMS)})"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_campaign_daily_client_day")
    op.execute(
        "ALTER TABLE campaign_daily SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_vacuum_insert_scale_factor = 0.02)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE campaign_daily RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor)"
        )
    op.drop_index("ix_campaign_daily_client_day_sums", table_name="campaign_daily")
    op.create_index("ix_campaign_daily_client_day", "campaign_daily", ["client_id", "day"])
