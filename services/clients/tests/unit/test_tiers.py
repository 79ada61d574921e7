"""The tier facts a client carries: the Review action date and rating staleness
(docs/domain-rules.md, "Tier scoring").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from clientpulse.clients.domain.tiers import is_stale, review_action_due


def test_review_gets_a_30_day_action_date() -> None:
    assert review_action_due(date(2026, 12, 1)) == date(2026, 12, 31)


def test_ratings_older_than_90_days_are_stale() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert not is_stale(now - timedelta(days=90), now)
    assert is_stale(now - timedelta(days=90, seconds=1), now)
    assert not is_stale(None, now)
