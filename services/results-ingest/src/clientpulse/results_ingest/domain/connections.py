"""Connecting a client to a platform account: API tokens, the OAuth 2 code flow, testing a connection,
listing the accounts a connection reaches and pointing it at one of them.

Nothing here knows a platform by name: each platform's module declares how it authenticates and
which options a connection carries (``platforms/``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    Credentials,
    GaveUp,
    Misconfigured,
    MustWait,
    PlatformError,
    ReconnectRequired,
    TokenExpired,
    Transient,
)
from clientpulse.results_ingest.db.models import Connection, OAuthState
from clientpulse.results_ingest.db.repositories.connections import ConnectionRepository
from clientpulse.results_ingest.db.repositories.oauth_states import OAuthStateRepository
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.results_ingest.domain.ingest import Runtime, connector_for, retry_policy
from clientpulse.results_ingest.domain.records import AccountChoice, AccountInfo
from clientpulse.results_ingest.platforms import REGISTRY, ConnectionTarget, PlatformSpec, UnknownPlatform
from clientpulse.results_ingest.platforms.spec import OAuth
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.contracts import new_event_id, wrap
from clientpulse.shared.contracts.events import ConnectionAdded, ConnectionRemoved
from clientpulse.shared.db import utcnow
from clientpulse.shared.errors import Forbidden, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.shared.messaging import record_event

_log = logging.getLogger("clientpulse.results_ingest.connections")

SOURCE = "results-ingest"
OAUTH_STATE_LIFETIME = timedelta(minutes=15)
# What a platform's refusal of a connection attempt can be.
REFUSALS = (PlatformError, GaveUp, Transient, MustWait)


def platform_spec(platform: str) -> PlatformSpec[Any]:
    """The platform if this service can connect it; 422 naming the supported ones otherwise."""
    try:
        return REGISTRY.get(platform)
    except UnknownPlatform:
        names = ", ".join(REGISTRY.keys())
        raise Unprocessable(f"connections to {platform} are not available; supported: {names}") from None


def connection_options(spec: PlatformSpec[Any], raw: Mapping[str, Any] | None) -> dict[str, str]:
    """A connection's options checked against the platform's declaration (422 saying what is wrong)."""
    try:
        return spec.options_of(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Unprocessable(f"{spec.name} connection options: {problems}") from None
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None


def callback_url(settings: ResultsSettings, platform: str) -> str:
    """Where the platform sends the browser back (the gateway's public callback route)."""
    return f"{settings.oauth_redirect_base.rstrip('/')}/api/v1/oauth/{platform}/callback"


async def probe(
    runtime: Runtime, platform: str, account_id: str, options: Mapping[str, str], credentials: Credentials
) -> AccountInfo:
    """Ask the platform who the account is: proves the credentials reach it."""
    connector, _ = connector_for(runtime, platform, ConnectionTarget(account_id, options), credentials)
    return await connector.account_info()


def connection_status_for(exc: Exception) -> tuple[ConnectionStatus, str]:
    """The status a failed platform call leaves a connection in, with the platform's own message.

    Only a dead grant (revoked or expired token that cannot be renewed) expires a connection;
    our own misconfiguration and the platform's other refusals are errors a person can read.
    """
    if isinstance(exc, ReconnectRequired | TokenExpired):
        return ConnectionStatus.EXPIRED, str(exc)
    if isinstance(exc, Misconfigured):
        return ConnectionStatus.ERROR, f"{exc} (the service's platform settings need fixing, not the connection)"
    return ConnectionStatus.ERROR, str(exc)


async def _store(
    session: AsyncSession,
    runtime: Runtime,
    identity_sub: str,
    client_id: str,
    platform: str,
    account_id: str,
    options: Mapping[str, str],
    credentials: Credentials,
    account: AccountInfo,
    auth_kind: str,
) -> Connection:
    repository = ConnectionRepository(session)
    connection = await repository.find(client_id, platform, account_id)
    added = connection is None
    if connection is None:
        connection = Connection(
            id=new_event_id(),
            client_id=client_id,
            platform=platform,
            account_id=account_id,
            created_at=utcnow(),
            created_by=identity_sub,
            status=ConnectionStatus.CONNECTED.value,
        )
        session.add(connection)
    # Connecting an account again replaces its credentials (how an expired connection is repaired).
    connection.secret = runtime.box.seal(credentials.to_secret())
    connection.options = dict(options)
    connection.auth_kind = auth_kind
    connection.status = ConnectionStatus.CONNECTED.value
    connection.status_message = None
    connection.throttled_until = None
    connection.credentials_expire_at = credentials.expires_at
    connection.expiry_warned_for = None
    connection.account_name = account.name
    connection.currency = account.currency
    connection.time_zone = account.time_zone
    await session.flush()
    if added:
        await _announce_connection(session, connection, ConnectionAdded, added_by=identity_sub)
    return connection


async def _announce_connection(
    session: AsyncSession, connection: Connection, event: type[ConnectionAdded | ConnectionRemoved], **by: str
) -> None:
    """Record ConnectionAdded or ConnectionRemoved in the unit of work of the change."""
    data = event(
        client_id=connection.client_id,
        connection_id=connection.id,
        platform=connection.platform,
        platform_name=REGISTRY.get(connection.platform).name,
        account_id=connection.account_id,
        account_name=connection.account_name,
        **by,
    )
    await record_event(session, wrap(data, source=SOURCE))


async def remove_connection(session: AsyncSession, identity: Identity, connection: Connection) -> None:
    """Forget a connection (its stored results stay) and announce it, in one unit of work."""
    await _announce_connection(session, connection, ConnectionRemoved, removed_by=identity.sub)
    await ConnectionRepository(session).remove(connection)


async def connect_with_token(
    session: AsyncSession,
    runtime: Runtime,
    identity: Identity,
    client_id: str,
    platform: str,
    account_id: str,
    options: Mapping[str, Any] | None,
    credentials: Credentials,
) -> Connection:
    """Connect with a token the caller already holds (API key, system-user token); it is tested first."""
    spec = platform_spec(platform)
    if "token" not in spec.auth.methods:
        raise Unprocessable(f"{spec.name} is connected with {', '.join(spec.auth.methods)}, not a token")
    checked = connection_options(spec, options)
    try:
        credentials = await _adopt(runtime, spec, credentials)
        account = await probe(runtime, platform, account_id, checked, credentials)
    except REFUSALS as exc:
        raise Unprocessable(f"{spec.name} did not accept the credentials for account {account_id}: {exc}") from exc
    return await _store(
        session, runtime, identity.sub, client_id, platform, account_id, checked, credentials, account, "api_key"
    )


async def _adopt(runtime: Runtime, spec: PlatformSpec[Any], credentials: Credentials) -> Credentials:
    """A pasted token made long-lived where the platform can (Meta); a dead one is refused, and a
    refusal of our own app or a throttle keeps the token as it was pasted."""
    auth = spec.auth
    if not isinstance(auth, OAuth):
        return credentials
    try:
        return await auth.adopt(_token_context(runtime), runtime.settings.platform_settings(spec), credentials)
    except ReconnectRequired:
        raise
    except REFUSALS as exc:
        _log.warning("kept the %s token as it was pasted: %s", spec.key, exc)
        return credentials


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
    runtime: Runtime,
    identity: Identity,
    client_id: str,
    platform: str,
    account_id: str,
    options: Mapping[str, Any] | None,
) -> AuthorizationStart:
    """Begin the authorization-code flow: a single-use state (and PKCE verifier) kept server-side."""
    spec = platform_spec(platform)
    auth = spec.auth
    if not isinstance(auth, OAuth):
        raise Unprocessable(f"{spec.name} is connected with an API key (method token), not OAuth")
    checked = connection_options(spec, options)
    state = secrets.token_urlsafe(32)
    redirect_uri = callback_url(runtime.settings, platform)
    verifier = challenge = None
    if auth.pkce:
        verifier, challenge = _pkce_pair()
    expires_at = utcnow() + OAUTH_STATE_LIFETIME
    await OAuthStateRepository(session).add(
        OAuthState(
            state=state,
            client_id=client_id,
            platform=platform,
            account_id=account_id,
            options=checked,
            redirect_uri=redirect_uri,
            code_verifier=runtime.box.seal({"verifier": verifier}) if verifier else None,
            created_by=identity.sub,
            expires_at=expires_at,
        )
    )
    url = auth.authorization_url(
        runtime.settings.platform_settings(spec),
        state=state,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        account_id=account_id,
    )
    return AuthorizationStart(url, expires_at)


def _token_context(runtime: Runtime) -> ConnectorContext:
    return ConnectorContext(
        http=runtime.http,
        credentials=Credentials(access_token=""),
        policy=retry_policy(runtime.settings),
        clock=runtime.clock,
        pauses=runtime.pauses,
    )


async def finish_oauth(session: AsyncSession, runtime: Runtime, platform: str, code: str, state: str) -> Connection:
    """The platform's callback: the state alone says who asked and for which client."""
    spec = platform_spec(platform)
    flow = await OAuthStateRepository(session).take(state, platform, utcnow())
    if flow is None:
        raise Forbidden("this authorization is unknown, was already used or has expired; start connecting again")
    auth = spec.auth
    if not isinstance(auth, OAuth):
        raise Unprocessable(f"{spec.name} is not connected with OAuth")
    verifier = runtime.box.open(flow.code_verifier)["verifier"] if flow.code_verifier else None
    options = dict(flow.options or {})
    try:
        credentials = await auth.exchange_code(
            _token_context(runtime),
            runtime.settings.platform_settings(spec),
            code=code,
            redirect_uri=flow.redirect_uri,
            verifier=verifier,
            account_id=flow.account_id,
        )
        account = await probe(runtime, platform, flow.account_id, options, credentials)
    except (*REFUSALS, httpx.HTTPError, ValueError) as exc:
        raise Unprocessable(f"{spec.name} did not complete the authorization: {exc}") from exc
    return await _store(
        session,
        runtime,
        flow.created_by,
        flow.client_id,
        platform,
        flow.account_id,
        options,
        credentials,
        account,
        "oauth",
    )


def _keep_renewed(connection: Connection, runtime: Runtime, refreshed: list[Credentials]) -> None:
    if refreshed:
        connection.secret = runtime.box.seal(refreshed[-1].to_secret())
        connection.credentials_expire_at = refreshed[-1].expires_at


async def test_connection(session: AsyncSession, runtime: Runtime, connection: Connection) -> Connection:
    """Call the platform with the stored credentials and record what it said."""
    if connection.secret is None:
        connection.status, connection.status_message = ConnectionStatus.ERROR.value, "no credentials stored"
        return connection
    credentials = Credentials.from_secret(runtime.box.open(connection.secret))
    refreshed: list[Credentials] = []

    async def keep(renewed: Credentials) -> None:
        refreshed.append(renewed)

    target = ConnectionTarget(connection.account_id, dict(connection.options or {}))
    connector, _ = connector_for(runtime, connection.platform, target, credentials, on_refresh=keep)
    try:
        account = await connector.account_info()
    except MustWait as exc:
        connection.throttled_until, connection.status_message = exc.until, str(exc)
    except REFUSALS as exc:
        status, message = connection_status_for(exc)
        connection.status, connection.status_message = status.value, message
    else:
        connection.status, connection.status_message = ConnectionStatus.CONNECTED.value, None
        connection.throttled_until = None
        connection.account_name, connection.currency, connection.time_zone = (
            account.name,
            account.currency,
            account.time_zone,
        )
    _keep_renewed(connection, runtime, refreshed)
    await session.flush()
    return connection


async def reachable_accounts(runtime: Runtime, connection: Connection) -> list[AccountChoice]:
    """The accounts this connection's credentials reach, as a person picks from them."""
    if connection.secret is None:
        raise Unprocessable("this connection has no stored credentials; connect it again")
    credentials = Credentials.from_secret(runtime.box.open(connection.secret))
    target = ConnectionTarget(connection.account_id, dict(connection.options or {}))
    connector, _ = connector_for(runtime, connection.platform, target, credentials)
    try:
        return await connector.accessible_accounts()
    except REFUSALS as exc:
        raise Unprocessable(f"{connection.platform} did not list the accounts: {exc}") from exc


async def point_at_account(
    session: AsyncSession,
    runtime: Runtime,
    connection: Connection,
    account_id: str,
    options: Mapping[str, Any] | None,
) -> Connection:
    """Point a connection at another account its credentials reach (a client account under a manager)."""
    spec = platform_spec(connection.platform)
    checked = connection_options(spec, options)
    if connection.secret is None:
        raise Unprocessable("this connection has no stored credentials; connect it again")
    existing = await ConnectionRepository(session).find(connection.client_id, connection.platform, account_id)
    if existing is not None and existing.id != connection.id:
        raise Unprocessable(f"the client is already connected to {spec.name} account {account_id} ({existing.id})")
    credentials = Credentials.from_secret(runtime.box.open(connection.secret))
    try:
        account = await probe(runtime, connection.platform, account_id, checked, credentials)
    except REFUSALS as exc:
        raise Unprocessable(f"{spec.name} did not let these credentials read account {account_id}: {exc}") from exc
    connection.account_id = account_id
    connection.options = checked
    connection.status, connection.status_message = ConnectionStatus.CONNECTED.value, None
    connection.account_name, connection.currency, connection.time_zone = (
        account.name,
        account.currency,
        account.time_zone,
    )
    await session.flush()
    return connection
