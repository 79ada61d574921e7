"""Connecting a client to a platform account: API tokens, the OAuth 2 code flow, testing a connection."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import (
    Credentials,
    GaveUp,
    PlatformError,
    ReconnectRequired,
    TokenExpired,
    Transient,
)
from clientpulse.results_ingest.connectors.factory import AD_PLATFORMS, build_connector
from clientpulse.results_ingest.db.models import Connection, OAuthState
from clientpulse.results_ingest.db.repositories import ConnectionRepository, OAuthStateRepository
from clientpulse.results_ingest.domain.platforms import ConnectionStatus, Platform
from clientpulse.results_ingest.domain.records import AccountInfo
from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Forbidden, Unprocessable
from clientpulse.shared.identity import Identity

OAUTH_STATE_LIFETIME = timedelta(minutes=15)
# Platforms whose authorization server takes a PKCE challenge.
PKCE_PLATFORMS = frozenset({Platform.GOOGLE_ADS})


def supported(platform: Platform) -> Platform:
    """The platform if this service can connect it yet; 422 otherwise."""
    if platform not in AD_PLATFORMS:
        names = ", ".join(p.value for p in AD_PLATFORMS)
        raise Unprocessable(f"connections to {platform.value} are not available yet; supported: {names}")
    return platform


def callback_url(settings: ResultsSettings, platform: Platform) -> str:
    """Where the platform sends the browser back (the gateway's public callback route)."""
    return f"{settings.oauth_redirect_base.rstrip('/')}/api/v1/oauth/{platform.value}/callback"


async def probe(
    settings: ResultsSettings, http: httpx.AsyncClient, platform: Platform, account_id: str, credentials: Credentials
) -> AccountInfo:
    """Ask the platform who the account is: proves the credentials reach it."""
    connector = build_connector(settings, platform, account_id, http, credentials)
    return await connector.account_info()


def _status_of(exc: Exception) -> tuple[ConnectionStatus, str]:
    if isinstance(exc, ReconnectRequired | TokenExpired):
        return ConnectionStatus.EXPIRED, str(exc)
    return ConnectionStatus.ERROR, str(exc)


async def _store(
    session: AsyncSession,
    box: SecretBox,
    identity_sub: str,
    client_id: str,
    platform: Platform,
    account_id: str,
    credentials: Credentials,
    account: AccountInfo,
    auth_kind: str,
) -> Connection:
    repository = ConnectionRepository(session)
    connection = await repository.find(client_id, platform.value, account_id)
    if connection is None:
        connection = Connection(
            id=new_event_id(),
            client_id=client_id,
            platform=platform.value,
            account_id=account_id,
            created_at=utcnow(),
            created_by=identity_sub,
            status=ConnectionStatus.CONNECTED.value,
        )
        session.add(connection)
    # Connecting an account again replaces its credentials (how an expired connection is repaired).
    connection.secret = box.seal(credentials.to_secret())
    connection.auth_kind = auth_kind
    connection.status = ConnectionStatus.CONNECTED.value
    connection.status_message = None
    connection.account_name = account.name
    connection.currency = account.currency
    connection.time_zone = account.time_zone
    await session.flush()
    return connection


async def connect_with_token(
    session: AsyncSession,
    settings: ResultsSettings,
    box: SecretBox,
    http: httpx.AsyncClient,
    identity: Identity,
    client_id: str,
    platform: Platform,
    account_id: str,
    credentials: Credentials,
) -> Connection:
    """Connect with a token the caller already holds (API key, system-user token); it is tested first."""
    supported(platform)
    try:
        account = await probe(settings, http, platform, account_id, credentials)
    except (PlatformError, GaveUp, Transient) as exc:
        raise Unprocessable(f"{platform.value} did not accept the credentials for account {account_id}: {exc}") from exc
    return await _store(session, box, identity.sub, client_id, platform, account_id, credentials, account, "api_key")


@dataclass(frozen=True, slots=True)
class AuthorizationStart:
    """Where to send the person who consents, and until when the flow is valid."""

    authorization_url: str
    expires_at: datetime


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def start_oauth(
    session: AsyncSession,
    settings: ResultsSettings,
    box: SecretBox,
    identity: Identity,
    client_id: str,
    platform: Platform,
    account_id: str,
) -> AuthorizationStart:
    """Begin the authorization-code flow: a single-use state (and PKCE verifier) kept server-side."""
    supported(platform)
    state = secrets.token_urlsafe(32)
    redirect_uri = callback_url(settings, platform)
    verifier = challenge = None
    if platform in PKCE_PLATFORMS:
        verifier, challenge = _pkce_pair()
    expires_at = utcnow() + OAUTH_STATE_LIFETIME
    await OAuthStateRepository(session).add(
        OAuthState(
            state=state,
            client_id=client_id,
            platform=platform.value,
            account_id=account_id,
            redirect_uri=redirect_uri,
            code_verifier=box.seal({"verifier": verifier}) if verifier else None,
            created_by=identity.sub,
            expires_at=expires_at,
        )
    )
    params: dict[str, str]
    if platform is Platform.GOOGLE_ADS:
        base = settings.google_authorize_url
        params = {
            "client_id": settings.google_client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "https://www.googleapis.com/auth/adwords",
            "access_type": "offline",
            "prompt": "consent",
            "state": state,
            "code_challenge": challenge or "",
            "code_challenge_method": "S256",
        }
    elif platform is Platform.META_ADS:
        base = settings.meta_authorize_url
        params = {"client_id": settings.meta_app_id, "redirect_uri": redirect_uri, "state": state, "scope": "ads_read"}
    else:
        base = settings.tiktok_authorize_url
        params = {"app_id": settings.tiktok_app_id, "redirect_uri": redirect_uri, "state": state}
    return AuthorizationStart(f"{base}?{urlencode(params)}", expires_at)


async def _exchange(
    settings: ResultsSettings,
    http: httpx.AsyncClient,
    platform: Platform,
    code: str,
    redirect_uri: str,
    verifier: str | None,
) -> Credentials:
    now = datetime.now(UTC)
    body: dict[str, Any]
    if platform is Platform.GOOGLE_ADS:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": settings.google_client_id,
            "client_secret": settings.google_client_secret.get_secret_value(),
        }
        if verifier:
            form["code_verifier"] = verifier
        response = await http.post(settings.google_oauth_token_url, data=form)
        body = response.json()
        if response.status_code >= 400 or "access_token" not in body:
            raise PlatformError(str(body.get("error_description") or body.get("error") or response.status_code))
    elif platform is Platform.META_ADS:
        response = await http.get(
            f"{settings.meta_base_url.rstrip('/')}/{settings.meta_api_version}/oauth/access_token",
            params={
                "client_id": settings.meta_app_id,
                "client_secret": settings.meta_app_secret.get_secret_value(),
                "redirect_uri": redirect_uri,
                "code": code,
            },
        )
        body = response.json()
        if "error" in body or "access_token" not in body:
            raise PlatformError(str((body.get("error") or {}).get("message", "code exchange refused")))
    else:
        response = await http.post(
            f"{settings.tiktok_base_url.rstrip('/')}/open_api/v1.3/oauth2/access_token/",
            json={
                "app_id": settings.tiktok_app_id,
                "secret": settings.tiktok_app_secret.get_secret_value(),
                "auth_code": code,
            },
        )
        envelope = response.json()
        if envelope.get("code") != 0:
            raise PlatformError(str(envelope.get("message", "code exchange refused")))
        body = envelope["data"]
        body.setdefault("expires_in", body.get("access_token_expire_in"))
    expires_in = body.get("expires_in")
    return Credentials(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token"),
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
    )


async def finish_oauth(
    session: AsyncSession,
    settings: ResultsSettings,
    box: SecretBox,
    http: httpx.AsyncClient,
    platform: Platform,
    code: str,
    state: str,
) -> Connection:
    """The platform's callback: the state alone says who asked and for which client."""
    flow = await OAuthStateRepository(session).take(state, platform.value, utcnow())
    if flow is None:
        raise Forbidden("this authorization is unknown, was already used or has expired; start connecting again")
    verifier = box.open(flow.code_verifier)["verifier"] if flow.code_verifier else None
    try:
        credentials = await _exchange(settings, http, platform, code, flow.redirect_uri, verifier)
        account = await probe(settings, http, platform, flow.account_id, credentials)
    except (PlatformError, GaveUp, Transient, httpx.HTTPError, ValueError) as exc:
        raise Unprocessable(f"{platform.value} did not complete the authorization: {exc}") from exc
    return await _store(
        session, box, flow.created_by, flow.client_id, platform, flow.account_id, credentials, account, "oauth"
    )


async def test_connection(
    session: AsyncSession, settings: ResultsSettings, box: SecretBox, http: httpx.AsyncClient, connection: Connection
) -> Connection:
    """Call the platform with the stored credentials and record what it said."""
    if connection.secret is None:
        connection.status, connection.status_message = ConnectionStatus.ERROR.value, "no credentials stored"
        return connection
    credentials = Credentials.from_secret(box.open(connection.secret))
    refreshed: list[Credentials] = []

    async def keep(renewed: Credentials) -> None:
        refreshed.append(renewed)

    connector = build_connector(settings, Platform(connection.platform), connection.account_id, http, credentials, keep)
    try:
        account = await connector.account_info()
    except (PlatformError, GaveUp, Transient) as exc:
        status, message = _status_of(exc)
        connection.status, connection.status_message = status.value, message
    else:
        connection.status, connection.status_message = ConnectionStatus.CONNECTED.value, None
        connection.account_name, connection.currency, connection.time_zone = (
            account.name,
            account.currency,
            account.time_zone,
        )
    if refreshed:
        connection.secret = box.seal(refreshed[-1].to_secret())
    await session.flush()
    return connection


def connection_status_for(exc: Exception) -> tuple[ConnectionStatus, str]:
    """The status a failed platform call leaves a connection in, with the platform's message."""
    return _status_of(exc)
