"""What a platform declares about itself, in one place (see the results-ingest README's recipe).

The engine (connections, sync, backfill, the API) reads a ``PlatformSpec`` and never branches on a
platform's name: how it authenticates, its settings, how far back it restates its numbers, how a
backfill is sliced, its campaign statuses, its metric catalogue and its connector.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from clientpulse.results_ingest.connectors.base import (
    ConnectorContext,
    Credentials,
    PlatformConnector,
    ReconnectRequired,
)
from clientpulse.results_ingest.domain.catalogue import MetricSpec
from clientpulse.results_ingest.domain.records import CampaignStatus


class PlatformSettings(BaseModel):
    """A platform's settings: ``CLIENTPULSE_RESULTS_PLATFORMS__<KEY>__<FIELD>`` in the environment.

    URL fields default to the real platform. ``sandbox_paths`` names, for each URL field, the path
    under the platform sandbox that stands in for it when the service runs against the sandbox
    (``CLIENTPULSE_RESULTS_SANDBOX_URL``: the embedded mode and the tests).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sandbox_paths: ClassVar[Mapping[str, str]] = {}


S = TypeVar("S", bound=PlatformSettings)


@dataclass(frozen=True, slots=True)
class ConnectionTarget:
    """The account a connector reads, with the connection's options (e.g. the manager to log in through)."""

    account_id: str
    options: Mapping[str, str] = field(default_factory=dict)


class ApiKeyAuth:
    """The platform takes a key or token a person creates in the platform and pastes in."""

    kind: ClassVar[Literal["api_key"]] = "api_key"
    methods: ClassVar[tuple[str, ...]] = ("token",)
    renew_ahead: ClassVar[timedelta | None] = None
    refreshes: ClassVar[bool] = False


class OAuth(ABC, Generic[S]):
    """The OAuth 2 authorization-code flow of one platform (a token pasted in is accepted too).

    ``pkce`` says whether the authorization server takes a code challenge; ``renew_ahead``, how long
    before expiry credentials are renewed (``None``: only when the platform says they expired);
    ``refreshes``, whether a refresh token keeps the access alive indefinitely (else the access ends
    at its expiry unless renewal extends it, and the client's DM is told ahead).
    """

    kind: ClassVar[Literal["oauth"]] = "oauth"
    methods: ClassVar[tuple[str, ...]] = ("oauth", "token")
    pkce: ClassVar[bool] = False
    renew_ahead: ClassVar[timedelta | None] = None
    refreshes: ClassVar[bool] = False

    @abstractmethod
    def authorization_url(
        self, settings: S, *, state: str, redirect_uri: str, code_challenge: str | None, account_id: str
    ) -> str:
        """Where the person who consents is sent."""

    @abstractmethod
    async def exchange_code(
        self, ctx: ConnectorContext, settings: S, *, code: str, redirect_uri: str, verifier: str | None, account_id: str
    ) -> Credentials:
        """The credentials an authorization code is worth (long-lived ones where the platform has them);
        ``account_id`` is the account being connected (a Shopify shop's token endpoint is its own)."""

    async def adopt(self, ctx: ConnectorContext, settings: S, credentials: Credentials) -> Credentials:
        """Credentials a person pasted in, turned into the platform's longest-lived kind where it has one
        (the default keeps them as they are)."""
        return credentials

    async def renew(self, ctx: ConnectorContext, settings: S, credentials: Credentials) -> Credentials:
        """New credentials for ones about to expire; the default: the platform cannot renew them."""
        raise ReconnectRequired("these credentials cannot be renewed; connect the account again")


ConnectorFactory = Callable[[ConnectorContext, Any, ConnectionTarget], PlatformConnector]


@dataclass(frozen=True, slots=True)
class PlatformSpec(Generic[S]):
    """Everything the engine knows about one platform."""

    key: str
    name: str
    settings_model: type[S]
    auth: OAuth[S] | ApiKeyAuth
    # Days the platform may still restate after the fact: each sync re-reads them; older days are final.
    reread_days: int
    # The largest window one backfill slice asks for (a redelivered slice repeats at most this much).
    slice_days: int
    metrics: tuple[MetricSpec, ...]
    campaign_status: Callable[[str | None], CampaignStatus | None]
    connector: ConnectorFactory
    # Extra facts of a connection (validated, stored with it), e.g. the manager account to log in through.
    connection_options: type[BaseModel] | None = None
    # Whether the platform counts people reached per window (reach and frequency are only shown then).
    reports_reach: bool = True

    def __post_init__(self) -> None:
        if self.reread_days < 1 or self.slice_days < 1:
            raise ValueError(f"{self.key}: re-read window and slice size are at least one day")

    def build_connector(
        self, ctx: ConnectorContext, settings: PlatformSettings, target: ConnectionTarget
    ) -> PlatformConnector:
        """The connector of one account."""
        return self.connector(ctx, settings, target)

    def options_of(self, raw: Mapping[str, Any] | None) -> dict[str, str]:
        """A connection's options validated against the platform's model (``{}`` when it has none)."""
        if self.connection_options is None:
            if raw:
                raise ValueError(f"{self.name} connections take no options")
            return {}
        model = self.connection_options.model_validate(dict(raw or {}))
        return {k: str(v) for k, v in model.model_dump(exclude_none=True).items()}
