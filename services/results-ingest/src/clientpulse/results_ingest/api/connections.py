"""A client's platform connections and the OAuth callback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from pydantic import AfterValidator, BaseModel, Field, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.api.deps import PlatformRuntime
from clientpulse.results_ingest.connectors.base import Credentials
from clientpulse.results_ingest.db.models import Connection
from clientpulse.results_ingest.db.repositories.connections import ConnectionRepository
from clientpulse.results_ingest.domain import connections as service
from clientpulse.results_ingest.domain.connection_status import ConnectionStatus
from clientpulse.results_ingest.secrets_vault import SecretBox, SecretsUnreadable, mask
from clientpulse.shared.client_directory import visible_client
from clientpulse.shared.errors import NotFound, Unprocessable
from clientpulse.shared.guards import ClientsModuleController, InputModel, ServiceController
from clientpulse.shared.identity import Identity
from clientpulse.shared.service import Caller, Db


class ConnectionRead(BaseModel):
    """A connection as shown to users: secrets never leave the service, only a masked hint."""

    id: str
    client_id: str
    platform: str = Field(description="the platform's key (meta_ads, google_ads, tiktok_ads, …)")
    account_id: str
    account_name: str | None
    options: dict[str, str] = Field(description="the platform's connection options (e.g. login_customer_id)")
    auth_kind: str
    status: ConnectionStatus
    status_message: str | None
    throttled_until: datetime | None = Field(
        description="the platform asked this connection's work to wait until then (it stays connected)"
    )
    credentials_expire_at: datetime | None = Field(description="when the stored access token ends, if it does")
    currency: str | None
    time_zone: str | None
    credential_hint: str | None = Field(description="the last characters of the access token, masked")
    last_synced_at: datetime | None
    created_at: datetime


class ConnectionList(BaseModel):
    """A client's connections."""

    items: list[ConnectionRead]


def _few_options(options: dict[str, str]) -> dict[str, str]:
    if len(options) > MAX_OPTIONS:
        raise ValueError(f"a connection takes at most {MAX_OPTIONS} options")
    return options


MAX_OPTIONS = 10
# A JSON object of strings (validated for its size after parsing, so the published schema stays an object).
ConnectionOptions = Annotated[dict[str, str], AfterValidator(_few_options)]


class ConnectionCreate(InputModel):
    """Connect a platform account: with a token the caller holds, or by starting the OAuth flow."""

    platform: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$", description="the platform's key")
    account_id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_\-]+$")
    options: ConnectionOptions = Field(
        default_factory=dict,
        description="the platform's connection options, e.g. Google Ads' login_customer_id (the manager account)",
    )
    method: Literal["oauth", "token"] = "oauth"
    access_token: SecretStr | None = Field(default=None, max_length=4000)
    refresh_token: SecretStr | None = Field(default=None, max_length=4000)


class ConnectionRetarget(InputModel):
    """Point a connection at another account its credentials reach (one of ``/accounts``)."""

    account_id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_\-]+$")
    options: ConnectionOptions = Field(default_factory=dict)


class AccountChoiceRead(BaseModel):
    """An account the connection's credentials reach; send ``account_id`` and ``options`` to pick it."""

    account_id: str
    name: str | None
    currency: str | None
    time_zone: str | None
    manager: bool = Field(description="a manager account holds other accounts and has no results of its own")
    options: dict[str, str]


class AccountChoiceList(BaseModel):
    """What a connection's credentials reach."""

    items: list[AccountChoiceRead]


class AuthorizationStarted(BaseModel):
    """Send the person to ``authorization_url``; the platform calls back and the connection appears."""

    authorization_url: str
    expires_at: datetime


def read(connection: Connection, box: SecretBox) -> ConnectionRead:
    """The public view of a connection."""
    hint = None
    if connection.secret:
        try:
            hint = mask(str(box.open(connection.secret).get("access_token") or ""))
        except SecretsUnreadable:
            hint = None
    return ConnectionRead(
        id=connection.id,
        client_id=connection.client_id,
        platform=connection.platform,
        account_id=connection.account_id,
        account_name=connection.account_name,
        options=dict(connection.options or {}),
        auth_kind=connection.auth_kind,
        status=ConnectionStatus(connection.status),
        status_message=connection.status_message,
        throttled_until=connection.throttled_until,
        credentials_expire_at=connection.credentials_expire_at,
        currency=connection.currency,
        time_zone=connection.time_zone,
        credential_hint=hint,
        last_synced_at=connection.last_synced_at,
        created_at=connection.created_at,
    )


async def _connection(session: AsyncSession, identity: Identity, client_id: str, connection_id: str) -> Connection:
    await visible_client(session, identity, client_id)
    connection = await ConnectionRepository(session).get(client_id, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} was not found")
    return connection


class ConnectionController(ClientsModuleController):
    """``/api/v1/clients/{client_id}/connections``"""

    path = "/api/v1/clients/{client_id:str}/connections"
    tags = ["results"]

    @get("/", summary="A client's platform connections")
    async def list_connections(
        self, identity: Caller, db: Db, runtime: PlatformRuntime, client_id: FromPath[str]
    ) -> ConnectionList:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            rows = await ConnectionRepository(session).for_client(client_id)
        return ConnectionList(items=[read(c, runtime.box) for c in rows])

    @post(
        "/",
        summary="Connect a platform account (token, or start OAuth)",
        status_code=HTTP_201_CREATED,
        responses={
            HTTP_202_ACCEPTED: ResponseSpec(
                data_container=AuthorizationStarted, description="OAuth started: send the person to authorization_url"
            )
        },
    )
    async def create_connection(
        self,
        identity: Caller,
        db: Db,
        runtime: PlatformRuntime,
        client_id: FromPath[str],
        data: JSONBody[ConnectionCreate],
    ) -> Response[ConnectionRead | AuthorizationStarted]:
        async with db.transaction() as session:
            await visible_client(session, identity, client_id)
            if data.method == "oauth":
                if data.access_token or data.refresh_token:
                    raise Unprocessable("tokens are not sent with method oauth; the platform issues them")
                started = await service.start_oauth(
                    session, runtime, identity, client_id, data.platform, data.account_id, data.options
                )
                return Response(
                    AuthorizationStarted(authorization_url=started.authorization_url, expires_at=started.expires_at),
                    status_code=HTTP_202_ACCEPTED,
                )
            if data.access_token is None:
                raise Unprocessable("access_token is required with method token")
            credentials = Credentials(
                access_token=data.access_token.get_secret_value(),
                refresh_token=data.refresh_token.get_secret_value() if data.refresh_token else None,
            )
            connection = await service.connect_with_token(
                session, runtime, identity, client_id, data.platform, data.account_id, data.options, credentials
            )
            body = read(connection, runtime.box)
        return Response(
            body,
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client_id}/connections/{body.id}"},
        )

    @delete(
        "/{connection_id:str}", summary="Remove a connection (its stored results stay)", status_code=HTTP_204_NO_CONTENT
    )
    async def delete_connection(
        self, identity: Caller, db: Db, client_id: FromPath[str], connection_id: FromPath[str]
    ) -> None:
        async with db.transaction() as session:
            connection = await _connection(session, identity, client_id, connection_id)
            await service.remove_connection(session, identity, connection)

    @post("/{connection_id:str}/test", summary="Test a connection against its platform", status_code=200)
    async def test_connection(
        self,
        identity: Caller,
        db: Db,
        runtime: PlatformRuntime,
        client_id: FromPath[str],
        connection_id: FromPath[str],
    ) -> ConnectionRead:
        async with db.transaction() as session:
            connection = await _connection(session, identity, client_id, connection_id)
            connection = await service.test_connection(session, runtime, connection)
            return read(connection, runtime.box)

    @get(
        "/{connection_id:str}/accounts",
        summary="The accounts a connection's credentials reach (a manager's client accounts among them)",
    )
    async def list_accounts(
        self,
        identity: Caller,
        db: Db,
        runtime: PlatformRuntime,
        client_id: FromPath[str],
        connection_id: FromPath[str],
    ) -> AccountChoiceList:
        async with db.transaction() as session:
            connection = await _connection(session, identity, client_id, connection_id)
            choices = await service.reachable_accounts(runtime, connection)
        return AccountChoiceList(items=[AccountChoiceRead.model_validate(c, from_attributes=True) for c in choices])

    @patch("/{connection_id:str}", summary="Point a connection at another account its credentials reach")
    async def retarget_connection(
        self,
        identity: Caller,
        db: Db,
        runtime: PlatformRuntime,
        client_id: FromPath[str],
        connection_id: FromPath[str],
        data: JSONBody[ConnectionRetarget],
    ) -> ConnectionRead:
        async with db.transaction() as session:
            connection = await _connection(session, identity, client_id, connection_id)
            connection = await service.point_at_account(session, runtime, connection, data.account_id, data.options)
            return read(connection, runtime.box)


class OAuthCallbackController(ServiceController):
    """``/api/v1/oauth/{platform}/callback``: public at the gateway; the state is the only authority."""

    path = "/api/v1/oauth/{platform:str}/callback"
    tags = ["results"]

    @get("/", summary="Where a platform returns after consent", status_code=HTTP_201_CREATED, security=[])
    async def callback(
        self,
        db: Db,
        runtime: PlatformRuntime,
        platform: FromPath[str],
        oauth_state: Annotated[str, QueryParameter(name="state", min_length=8, max_length=200)],
        code: Annotated[str | None, QueryParameter(max_length=2000)] = None,
        auth_code: Annotated[str | None, QueryParameter(max_length=2000, description="TikTok's name for code")] = None,
        error: Annotated[str | None, QueryParameter(max_length=500)] = None,
    ) -> ConnectionRead:
        if error:
            raise Unprocessable(f"{platform} reported: {error}")
        grant = code or auth_code
        if not grant:
            raise Unprocessable("the callback carries no authorization code")
        async with db.transaction() as session:
            connection = await service.finish_oauth(session, runtime, platform, grant, oauth_state)
            return read(connection, runtime.box)
