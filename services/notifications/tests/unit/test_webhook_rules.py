"""Webhook rules: signatures a receiver can verify, targets that are refused, retries and disabling."""

from __future__ import annotations

import ipaddress

import pytest

from clientpulse.notifications.domain import webhooks

SECRET = "whsec_test"
BODY = b'{"id":"e-1","type":"clientpulse.tiering.v1.tier.changed"}'


def test_a_signed_body_verifies_with_the_secret() -> None:
    header = webhooks.signature_header(SECRET, 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert webhooks.verify_signature(SECRET, header, BODY, now=1_700_000_010)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"e-1", b"e-2")),  # body changed
        lambda h, b: (h.replace("t=1700000000", "t=1700000001"), b),  # timestamp changed
        lambda h, b: (h[:-1] + ("0" if h[-1] != "0" else "1"), b),  # signature changed
        lambda h, b: ("v1=" + h.split("v1=")[1], b),  # timestamp removed
    ],
)
def test_any_tampering_is_detected(tamper) -> None:
    header, body = tamper(webhooks.signature_header(SECRET, 1_700_000_000, BODY), BODY)
    assert not webhooks.verify_signature(SECRET, header, body, now=1_700_000_000)


def test_a_wrong_secret_or_an_old_timestamp_fails() -> None:
    header = webhooks.signature_header(SECRET, 1_700_000_000, BODY)
    assert not webhooks.verify_signature("whsec_other", header, BODY, now=1_700_000_000)
    assert webhooks.verify_signature(SECRET, header, BODY, now=1_700_000_300)
    assert not webhooks.verify_signature(SECRET, header, BODY, now=1_700_000_301)  # a replay


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_private_loopback_and_link_local_addresses_are_forbidden(address: str, forbidden: bool) -> None:
    assert webhooks.is_forbidden_address(ipaddress.ip_address(address)) is forbidden


def test_every_resolved_address_must_be_allowed() -> None:
    public, private = ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.5")
    webhooks.check_addresses("hooks.example", [public], [])
    with pytest.raises(webhooks.TargetRefused, match=r"10\.0\.0\.5"):
        webhooks.check_addresses("hooks.example", [public, private], [])
    loopback = ipaddress.ip_address("127.0.0.1")
    webhooks.check_addresses("localhost", [loopback], webhooks.parse_networks(["127.0.0.0/8"]))
    with pytest.raises(webhooks.TargetRefused):
        webhooks.check_addresses("nowhere.example", [], [])


@pytest.mark.parametrize(
    ("url", "require_https", "refused"),
    [
        ("https://hooks.example/x", True, None),
        ("http://hooks.example/x", True, "must use https"),
        ("http://hooks.example/x", False, None),
        ("ftp://hooks.example/x", False, "must use"),
        ("https://user:pw@hooks.example/x", True, "credentials"),
        ("https:///x", True, "no host"),
        ("https://hooks.example:99999/x", True, "not a valid URL"),
    ],
)
def test_urls_must_be_https_with_a_host(url: str, require_https: bool, refused: str | None) -> None:
    if refused is None:
        assert webhooks.check_url(url, require_https=require_https)[0] == "hooks.example"
    else:
        with pytest.raises(webhooks.TargetRefused, match=refused):
            webhooks.check_url(url, require_https=require_https)


def test_retries_back_off_along_the_configured_delays_then_repeat_the_last() -> None:
    delays = [10.0, 30.0, 120.0]
    assert [webhooks.retry_delay(n, delays) for n in (1, 2, 3, 4, 9)] == [10.0, 30.0, 120.0, 120.0, 120.0]


def test_an_endpoint_is_disabled_after_the_configured_run_of_failures() -> None:
    assert not webhooks.should_disable(4, 5)
    assert webhooks.should_disable(5, 5)


@pytest.mark.parametrize(("status", "ok"), [(200, True), (204, True), (299, True), (301, False), (500, False)])
def test_only_2xx_counts_as_delivered(status: int, ok: bool) -> None:
    assert webhooks.is_success(status) is ok


def test_the_stream_rereads_a_window_behind_the_newest_id_it_sent() -> None:
    from clientpulse.notifications.feed import uuid7_floor
    from clientpulse.shared.contracts import new_event_id

    newest = new_event_id()
    floor = uuid7_floor(newest)
    assert floor < newest
    assert (int(newest.replace("-", "")[:12], 16) - int(floor.replace("-", "")[:12], 16)) == 10_000  # ms
    assert uuid7_floor("not-a-uuid") == "not-a-uuid"


def test_signing_secrets_are_sealed_at_rest_and_open_only_with_the_key() -> None:
    from cryptography.fernet import InvalidToken

    secret = webhooks.new_secret()
    sealed = webhooks.seal_secret("key-1", secret)
    assert secret not in sealed
    assert webhooks.open_secret("key-1", sealed) == secret
    with pytest.raises(InvalidToken):
        webhooks.open_secret("key-2", sealed)
