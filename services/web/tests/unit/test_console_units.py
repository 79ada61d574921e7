"""The console's pure pieces: PKCE, figures in words, charts and notification links."""

from __future__ import annotations

import pytest

from clientpulse.web.charts import HEALTH_BANDS, line_chart, sparkline
from clientpulse.web.formatting import merge_query, metric_label, metric_value, money, percent
from clientpulse.web.notifications import console_link
from clientpulse.web.oidc import PendingSignIn


def test_the_pkce_challenge_is_rfc_7636s_example() -> None:
    pending = PendingSignIn("state", "nonce", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert pending.code_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_each_sign_in_gets_fresh_values() -> None:
    first, second = PendingSignIn.fresh(), PendingSignIn.fresh()
    assert first.state != second.state and first.code_verifier != second.code_verifier
    assert 43 <= len(first.code_verifier) <= 128


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [(125000, "EUR", "EUR 1,250.00"), (1500, "JPY", "JPY 1,500"), (None, "EUR", "—"), ("1882.54", "USD", "USD 18.83")],
)
def test_money_is_shown_from_minor_units(minor: object, currency: str, shown: str) -> None:
    assert money(minor, currency) == shown


def test_metric_cards_speak_in_their_units() -> None:
    assert metric_value("2443926", "money_minor", "USD", "spend_minor") == "USD 24,439.26"
    assert metric_value("0.0176", "ratio", None, "ctr") == "1.76 %"
    assert metric_value("4.3203", "ratio", "EUR", "roas") == "4.32"
    assert metric_label("spend_minor", "EUR") == "Spend (EUR)"
    assert metric_label("roas", None) == "ROAS"
    assert percent("0.125") == "+12.5 %"


def test_a_health_chart_puts_higher_scores_higher_and_draws_the_bands() -> None:
    chart = line_chart([("a", 20.0), ("b", 80.0)], low=0, high=100, bands=HEALTH_BANDS, width=100, height=100)
    (_, low_y, _, _), (_, high_y, _, _) = chart.points
    assert high_y < low_y
    assert [label for *_, label in chart.bands] == ["Green 70–100", "Amber 40–69", "Red 0–39"]
    assert chart.bands[0][0] == 0 and chart.bands[2][0] == 60


def test_a_sparkline_needs_two_days() -> None:
    assert sparkline([5]) == ""
    assert sparkline([0, 10], width=10, height=10) == "0.0,10.0 10.0,0.0"


def test_a_notification_links_to_its_clients_tab() -> None:
    assert console_link({"client_id": "c-1", "link": "/clients/c-1/tiering/history#r-9"}) == "/clients/c-1/tiering#r-9"
    assert console_link({"client_id": "c-1", "link": "/clients/c-1"}) == "/clients/c-1"
    assert console_link({"client_id": None, "link": None}) is None


def test_a_query_string_keeps_filters_and_drops_empty_values() -> None:
    assert merge_query({"status": "Active", "q": ""}, sort="-name") == "status=Active&sort=-name"


def test_the_development_sign_in_is_a_development_default() -> None:
    from pydantic import SecretStr

    from clientpulse.web.settings import WebSettings

    real = SecretStr("a-real-session-secret-of-enough-length")
    assert WebSettings(session_secret=real).development_defaults() == []
    assert WebSettings(session_secret=real, dev_sign_in=True).development_defaults() == ["CLIENTPULSE_WEB_DEV_SIGN_IN"]
    assert WebSettings().development_defaults() == ["CLIENTPULSE_WEB_SESSION_SECRET"]
