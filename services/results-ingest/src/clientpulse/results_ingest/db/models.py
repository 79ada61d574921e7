"""Tables of the results-ingest service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientpulse.shared.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = new_metadata()
    type_annotation_map = {datetime: UTCDateTime}


class Connection(Base):
    """A client's link to one marketing or commerce platform account."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("client_id", "platform", "account_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(120))
    account_name: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    status_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))
    # "oauth" or "api_key"; the tokens themselves live only in ``secret`` (MultiFernet ciphertext).
    auth_kind: Mapped[str] = mapped_column(String(20), server_default="api_key")
    secret: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    last_synced_at: Mapped[datetime | None]
    # The platform's connection options (Google Ads: the manager account to log in through).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # The platform asked this connection's work to wait until then (it stays connected).
    throttled_until: Mapped[datetime | None]
    # When the stored access token ends (kept beside the ciphertext so nobody decrypts to know).
    credentials_expire_at: Mapped[datetime | None]
    # The expiry the DM was last told about (each ending is announced once).
    expiry_warned_for: Mapped[datetime | None]


class OAuthState(Base):
    """An authorization-code flow in progress; the state value is the only authority of the callback."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(120))
    # The connection options asked for with the flow (they become the connection's).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    redirect_uri: Mapped[str] = mapped_column(Text)
    # The PKCE verifier, encrypted like any other secret.
    code_verifier: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]


class CampaignDaily(Base):
    """One campaign's additive sums for one account-local day (money in minor units)."""

    __tablename__ = "campaign_daily"
    __table_args__ = (
        # A client's window read from the index alone: on PostgreSQL the campaign table's sums and
        # sparklines are an index-only scan, whatever else the table holds.
        Index(
            "ix_campaign_daily_client_day_sums",
            "client_id",
            "day",
            postgresql_include=[
                "connection_id",
                "campaign_id",
                "spend_minor",
                "impressions",
                "clicks",
                "conversions_e4",
                "conversion_value_minor",
            ],
        ),
    )

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(40))
    campaign_name: Mapped[str] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(20))
    status_raw: Mapped[str | None] = mapped_column(String(60))
    creative_title: Mapped[str | None] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    spend_minor: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int] = mapped_column(BigInteger)
    clicks: Mapped[int] = mapped_column(BigInteger)
    conversions_e4: Mapped[int] = mapped_column(BigInteger)
    conversion_value_minor: Mapped[int] = mapped_column(BigInteger)
    reach_daily: Mapped[int | None] = mapped_column(BigInteger)
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime]


class CampaignPeriodReach(Base):
    """The platform's own reach for one campaign over a window (reach does not add up over days)."""

    __tablename__ = "campaign_period_reach"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[date] = mapped_column(Date, primary_key=True)
    window_end: Mapped[date] = mapped_column(Date, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    reach: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int] = mapped_column(BigInteger)
    fetched_at: Mapped[datetime]


class MetricDaily(Base):
    """One account-level base measure for one account-local day, in its category."""

    __tablename__ = "metric_daily"
    __table_args__ = (Index("ix_metric_daily_client_day", "client_id", "day"),)

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(30))
    value: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str | None] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime]


class MetricBreakdownDaily(Base):
    """A part of a connection's daily account metric: one GA4 channel group, one Klaviyo campaign or flow."""

    __tablename__ = "metric_breakdown_daily"
    __table_args__ = (Index("ix_metric_breakdown_daily_client_day", "client_id", "day"),)

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    member: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime]


class MetricWindow(Base):
    """A platform's own count of people over a whole window (GA4 users): never added up over days.

    ``dimension`` and ``member`` are empty for the account's own figure.
    """

    __tablename__ = "metric_window"
    __table_args__ = (Index("ix_metric_window_client_window", "client_id", "window_start", "window_end"),)

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    window_start: Mapped[date] = mapped_column(Date, primary_key=True)
    window_end: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True, default="")
    member: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    label: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(30))
    value: Mapped[int] = mapped_column(BigInteger)
    fetched_at: Mapped[datetime]


ACTIVE_BACKFILL_STATES = ("queued", "running")


class Backfill(Base):
    """A 30/60/90-day backfill of one client; at most one queued or running per company."""

    __tablename__ = "backfills"
    __table_args__ = (
        # The lock that must hold across replicas lives in the database (docs/architecture.md, "Scale-out").
        Index(
            "uq_backfills_one_active_per_client",
            "client_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    slices_total: Mapped[int] = mapped_column(Integer, default=0)
    slices_done: Mapped[int] = mapped_column(Integer, default=0)
    # Slices a platform refused for good: their part failed, the other platforms' parts go on.
    slices_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class BackfillSlice(Base):
    """One connection's window of a backfill: the checkpoint a resumed worker starts from."""

    __tablename__ = "backfill_slices"

    backfill_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[date] = mapped_column(Date, primary_key=True)
    window_end: Mapped[date] = mapped_column(Date)
    platform: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
    # Times the platform's throttling deferred this slice, and until when it waits now.
    deferrals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waiting_until: Mapped[datetime | None]


class LinkedGoal(Base):
    """A client's goal that follows a results metric, replicated from the clients service's GoalChanged."""

    __tablename__ = "linked_goals"
    __table_args__ = (Index("ix_linked_goals_client_metric", "client_id", "metric"),)

    goal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    target: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, doc="time of the event that set this state")


class AdDaily(Base):
    """One ad's copy and its additive sums for one account-local day (money in minor units)."""

    __tablename__ = "ad_daily"
    __table_args__ = (Index("ix_ad_daily_client_day", "client_id", "day"),)

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ad_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(String(120))
    ad_name: Mapped[str | None] = mapped_column(String(500))
    headlines: Mapped[list[str]] = mapped_column(JSON)
    bodies: Mapped[list[str]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    spend_minor: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int] = mapped_column(BigInteger)
    clicks: Mapped[int] = mapped_column(BigInteger)
    conversions_e4: Mapped[int] = mapped_column(BigInteger)
    conversion_value_minor: Mapped[int] = mapped_column(BigInteger)
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime]
