"""Token lifecycles as the platforms run them: Meta's short- and long-lived tokens and their exchange,
tokens that really expire, and the token endpoints' faults (queued on the account ``@token``)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from sandbox_testkit import InProcessSandbox

APP = {"client_id": "app", "client_secret": "secret"}
SIXTY_DAYS = 5_183_944


async def meta_exchange(live: InProcessSandbox, token: str) -> httpx.Response:
    params = {**APP, "grant_type": "fb_exchange_token", "fb_exchange_token": token}
    return await live.http.get("/meta/v25.0/oauth/access_token", params=params)


async def meta_account(live: InProcessSandbox, token: str) -> httpx.Response:
    return await live.http.get("/meta/v25.0/act_1001", params={"access_token": token})


async def meta_login(live: InProcessSandbox) -> httpx.Response:
    """A person consents and the app exchanges the code."""
    consent = await live.http.get(
        "/meta/dialog/oauth", params={"redirect_uri": "https://app.example/cb", "sandbox_no_redirect": "1"}
    )
    code = consent.json()["code"]
    params = {**APP, "redirect_uri": "https://app.example/cb", "code": code}
    return await live.http.get("/meta/v25.0/oauth/access_token", params=params)


async def test_meta_code_exchange_gives_a_short_lived_token_and_its_exchange_a_long_lived_one(
    live: InProcessSandbox,
) -> None:
    short = (await meta_login(live)).json()
    assert short["token_type"] == "bearer"
    assert short["expires_in"] == 3600

    long = await meta_exchange(live, short["access_token"])
    assert long.status_code == 200
    assert long.json()["expires_in"] == SIXTY_DAYS
    assert long.json()["access_token"] != short["access_token"]

    live.clock.advance(seconds=3601)
    assert (await meta_account(live, short["access_token"])).json()["error"]["error_subcode"] == 463
    assert (await meta_account(live, long.json()["access_token"])).status_code == 200


async def test_exchanging_a_long_lived_user_token_does_not_extend_it(live: InProcessSandbox) -> None:
    long_lived = await live.grant("meta_ads")  # a person's long-lived token
    live.clock.advance(days=10)
    again = await meta_exchange(live, long_lived)
    assert again.status_code == 200
    assert again.json()["expires_in"] == SIXTY_DAYS - 10 * 86_400  # same absolute expiry: log in again later

    live.clock.advance(seconds=SIXTY_DAYS - 10 * 86_400)
    expired = await meta_account(live, again.json()["access_token"])
    assert (expired.json()["error"]["code"], expired.json()["error"]["error_subcode"]) == (190, 463)


async def test_a_system_user_token_is_renewed_for_another_sixty_days(live: InProcessSandbox) -> None:
    system = await live.grant("meta_ads", kind="system_user")
    live.clock.advance(days=50)
    renewed = await meta_exchange(live, system)
    assert renewed.json()["expires_in"] == SIXTY_DAYS
    live.clock.advance(days=20)  # past the first token's expiry
    assert (await meta_account(live, renewed.json()["access_token"])).status_code == 200
    assert (await meta_account(live, system)).status_code == 400


async def test_exchanging_an_unknown_or_expired_token_is_refused_with_190(live: InProcessSandbox) -> None:
    unknown = await meta_exchange(live, "never-issued")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == 190

    soon = await live.grant("meta_ads", expires_in=60)
    live.clock.advance(seconds=61)
    expired = await meta_exchange(live, soon)
    assert (expired.json()["error"]["code"], expired.json()["error"]["error_subcode"]) == (190, 463)


async def test_a_grant_can_expire_soon_and_then_every_platform_refuses_it(live: InProcessSandbox) -> None:
    meta = await live.grant("meta_ads", expires_in=120)
    google = await live.grant("google_ads", expires_in=120)
    tiktok = await live.grant("tiktok_ads", expires_in=120)
    google_query = {"query": "SELECT customer.id FROM customer"}
    google_headers = {"Authorization": f"Bearer {google}", "developer-token": "dev"}
    tiktok_params = {"advertiser_ids": '["3003"]'}

    assert (await meta_account(live, meta)).status_code == 200
    google_search = "/google-ads/v21/customers/2002/googleAds:search"
    assert (await live.http.post(google_search, json=google_query, headers=google_headers)).status_code == 200
    tiktok_live = await live.http.get(
        "/tiktok/open_api/v1.3/advertiser/info/", params=tiktok_params, headers={"Access-Token": tiktok}
    )
    assert tiktok_live.json()["code"] == 0

    live.clock.advance(seconds=121)
    assert (await meta_account(live, meta)).json()["error"]["code"] == 190
    google_expired = await live.http.post(google_search, json=google_query, headers=google_headers)
    assert google_expired.status_code == 401
    assert google_expired.json()["error"]["status"] == "UNAUTHENTICATED"
    tiktok_expired = await live.http.get(
        "/tiktok/open_api/v1.3/advertiser/info/", params=tiktok_params, headers={"Access-Token": tiktok}
    )
    assert tiktok_expired.json()["code"] == 40102


async def test_a_grant_checks_its_parameters(live: InProcessSandbox) -> None:
    assert (await live.http.post("/_sandbox/grants/snapchat_ads")).status_code == 404
    assert (await live.http.post("/_sandbox/grants/google_ads", params={"kind": "system_user"})).status_code == 400
    assert (await live.http.post("/_sandbox/grants/meta_ads", params={"expires_in": "soon"})).status_code == 400
    assert (await live.http.post("/_sandbox/grants/meta_ads", params={"expires_in": "0"})).status_code == 400
    granted = await live.http.post("/_sandbox/grants/meta_ads")
    assert set(granted.json()) == {"access_token", "refresh_token"}  # passed on as a connection's credentials


# --- The token endpoints' faults -----------------------------------------------------------------------------


async def google_refresh(live: InProcessSandbox, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "c", "client_secret": "s"}
    return await live.http.post("/google-oauth/token", data=form)


async def google_refresh_token(live: InProcessSandbox) -> str:
    return str((await live.http.post("/_sandbox/grants/google_ads")).json()["refresh_token"])


@pytest.mark.parametrize(
    ("fault", "status", "body"),
    [
        ("token_server_error", 503, None),
        (
            "invalid_client",
            401,
            {"error": "invalid_client", "error_description": "The OAuth client was not found."},
        ),
        (
            "invalid_grant",
            400,
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
        ),
    ],
)
async def test_google_token_faults(
    live: InProcessSandbox, fault: str, status: int, body: dict[str, str] | None
) -> None:
    refresh = await google_refresh_token(live)
    await live.queue("google_ads", "@token", fault)
    refused = await google_refresh(live, refresh)
    assert refused.status_code == status
    if body is not None:
        assert refused.json() == body
    after = await google_refresh(live, refresh)
    # A dead grant stays dead; the other faults were one refusal each.
    assert after.status_code == (400 if fault == "invalid_grant" else 200)


async def test_google_token_rate_limit_says_when_to_retry(live: InProcessSandbox) -> None:
    refresh = await google_refresh_token(live)
    await live.queue("google_ads", "@token", "none", "token_rate_limit:7")
    assert (await google_refresh(live, refresh)).status_code == 200
    limited = await google_refresh(live, refresh)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    renewed = await google_refresh(live, refresh)
    assert renewed.json()["expires_in"] == 3599


async def test_google_access_tokens_from_a_refresh_expire_after_an_hour(live: InProcessSandbox) -> None:
    token = (await google_refresh(live, await google_refresh_token(live))).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "developer-token": "dev"}
    query = {"query": "SELECT customer.id FROM customer"}
    search = "/google-ads/v21/customers/2002/googleAds:search"
    assert (await live.http.post(search, json=query, headers=headers)).is_success
    live.clock.advance(seconds=3600)
    expired = await live.http.post(search, json=query, headers=headers)
    assert expired.status_code == 401


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("token_rate_limit", 429, 4),
        ("token_server_error", 503, 2),
        ("invalid_client", 400, 101),
        ("invalid_grant", 400, 190),
    ],
)
async def test_meta_token_faults(live: InProcessSandbox, fault: str, status: int, code: int) -> None:
    token = await live.grant("meta_ads")
    await live.queue("meta_ads", "@token", fault)
    refused = await meta_exchange(live, token)
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code
    if fault == "token_rate_limit":
        assert refused.headers["Retry-After"] == "1"
    after = await meta_exchange(live, token)
    assert after.status_code == (400 if fault == "invalid_grant" else 200)


async def tiktok_refresh(live: InProcessSandbox, refresh_token: str) -> httpx.Response:
    body = {"app_id": "a", "secret": "s", "grant_type": "refresh_token", "refresh_token": refresh_token}
    return await live.http.post("/tiktok/open_api/v1.3/oauth2/refresh_token/", json=body)


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("token_rate_limit", 200, 40100),
        ("token_server_error", 503, None),
        ("invalid_client", 200, 40101),
        ("invalid_grant", 200, 40107),
    ],
)
async def test_tiktok_token_faults(live: InProcessSandbox, fault: str, status: int, code: int | None) -> None:
    refresh = str((await live.http.post("/_sandbox/grants/tiktok_ads")).json()["refresh_token"])
    await live.queue("tiktok_ads", "@token", fault)
    refused = await tiktok_refresh(live, refresh)
    assert refused.status_code == status
    if code is not None:
        assert refused.json()["code"] == code
    after = await tiktok_refresh(live, refresh)
    assert after.json()["code"] == (40107 if fault == "invalid_grant" else 0)


async def test_tiktok_refresh_tokens_rotate(live: InProcessSandbox) -> None:
    refresh = str((await live.http.post("/_sandbox/grants/tiktok_ads")).json()["refresh_token"])
    renewed = (await tiktok_refresh(live, refresh)).json()["data"]
    assert renewed["access_token_expire_in"] == 86_400
    assert (await tiktok_refresh(live, refresh)).json()["code"] == 40107  # spent by the first call
    assert (await tiktok_refresh(live, renewed["refresh_token"])).json()["code"] == 0


async def test_tiktok_auth_code_exchange_fault(live: InProcessSandbox) -> None:
    consent = await live.http.get(
        "/tiktok/portal/auth",
        params={"redirect_uri": "https://app.example/cb", "sandbox_no_redirect": "1", "sandbox_account": "3003"},
    )
    code = consent.json()["auth_code"]
    await live.queue("tiktok_ads", "@token", "invalid_client")
    body = {"app_id": "a", "secret": "s", "auth_code": code}
    assert (await live.http.post("/tiktok/open_api/v1.3/oauth2/access_token/", json=body)).json()["code"] == 40101
    granted = (await live.http.post("/tiktok/open_api/v1.3/oauth2/access_token/", json=body)).json()
    assert granted["code"] == 0
    assert granted["data"]["advertiser_ids"] == ["3003"]
