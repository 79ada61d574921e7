"""What serves requests once the app has started: the upstream pool, token checks and the rate limit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from litestar import Request
from litestar.exceptions import TooManyRequestsException

from clientpulse.gateway.auth import JwksKeySet, TokenVerifier
from clientpulse.gateway.errors import IdentityProviderUnavailable, describe
from clientpulse.gateway.proxy import UpstreamProxy
from clientpulse.gateway.ratelimit import (
    Limiter,
    LocalLimiter,
    NatsRateLimitBucket,
    SharedWindowLimiter,
    TokenBucketLimiter,
    retry_after_header,
)
from clientpulse.gateway.routes import Route, RoutingTable
from clientpulse.gateway.settings import GatewaySettings
from clientpulse.shared.errors import Forbidden
from clientpulse.shared.identity import Identity

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Gateway:
    """The gateway's working parts, alive between app startup and shutdown."""

    settings: GatewaySettings
    routes: RoutingTable
    verifier: TokenVerifier
    limiter: Limiter
    proxy: UpstreamProxy

    async def admit(self, request: Request[Any, Any, Any], route: Route) -> Identity | None:
        """The caller let through to ``route``; None for a public route, which needs no token."""
        if not route.access.needs_identity:
            return None
        return await self.authorize(request, route)

    async def authorize(self, request: Request[Any, Any, Any], route: Route) -> Identity:
        """The caller: 401 without a valid token, 429 over the rate limit, 403 when the role may not."""
        identity = await self.verifier.identify(request.headers.get("authorization"))
        wait = await self.limiter.wait_seconds(identity.sub)
        if wait:
            retry_after = retry_after_header(wait)
            raise TooManyRequestsException(
                detail=f"too many requests for {identity.sub}; retry in {retry_after} s",
                headers={"Retry-After": retry_after},
            )
        if not route.access.allows(identity.role):
            raise Forbidden(route.access.refusal(identity.role))
        return identity

    async def readiness(self) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """What stops the gateway from serving (empty when ready), and each service's reachability."""
        blockers = []
        if self.proxy.session.closed:
            blockers.append("the upstream connection pool is closed")
        key_set = self.verifier.key_set
        if key_set is not None and not key_set.loaded:
            try:
                await key_set.refresh()
            except IdentityProviderUnavailable as exc:
                blockers.append(exc.detail)
        probes = await asyncio.gather(*(self._probe(url) for url in self.proxy.base_urls.values()))
        return blockers, dict(zip(self.proxy.base_urls, probes, strict=True))

    async def _probe(self, base_url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.settings.readiness_timeout)
        try:
            async with self.proxy.session.get(f"{base_url}/healthz", timeout=timeout) as response:
                return {"url": base_url, "reachable": True, "status": response.status}
        except (aiohttp.ClientError, TimeoutError) as exc:
            return {"url": base_url, "reachable": False, "error": describe(exc)}


@asynccontextmanager
async def open_gateway(settings: GatewaySettings, routes: RoutingTable) -> AsyncIterator[Gateway]:
    """Open the one pooled upstream session and build the gateway around it; close it on exit."""
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_pool_size, keepalive_timeout=settings.upstream_keepalive_seconds
    )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout, connect=settings.upstream_connect_timeout),
        # Services answer uncompressed on the internal network; decompressing would only cost CPU.
        skip_auto_headers=("Accept-Encoding",),
    )
    async with session, _rate_limiter(settings) as limiter:
        jwt_settings = settings.jwt
        key_set = None
        if jwt_settings.algorithms != ["HS256"] and jwt_settings.jwks_url:
            key_set = JwksKeySet(jwt_settings.jwks_url, jwt_settings.jwks_cache_seconds, session)
        yield Gateway(
            settings=settings,
            routes=routes,
            verifier=TokenVerifier(jwt_settings, key_set),
            limiter=limiter,
            proxy=UpstreamProxy(
                session,
                base_urls={service: settings.upstream_urls()[service] for service in sorted(routes.services())},
                identity_secret=settings.identity_secret.get_secret_value(),
                connect_timeout=settings.upstream_connect_timeout,
                total_timeout=settings.upstream_timeout,
            ),
        )


@asynccontextmanager
async def _rate_limiter(settings: GatewaySettings) -> AsyncIterator[Limiter]:
    """The per-caller limiter: shared through NATS when configured, else this replica's token bucket."""
    local = TokenBucketLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
    if not settings.rate_limit_shared:
        yield LocalLimiter(local)
        return
    window = settings.rate_limit_window_seconds()
    # Two windows: the current one and the one just ended, which a replica with a late clock may still name.
    bucket = NatsRateLimitBucket(settings.nats_url, ttl_seconds=2 * window, connect_timeout=2.0)
    try:
        await asyncio.wait_for(bucket(), timeout=3.0)
    except Exception as exc:  # start anyway; requests fall back until NATS answers
        _log.warning(
            "NATS at %s did not open the rate limit bucket (%s); limiting per replica until it does; "
            "start it or set CLIENTPULSE_NATS_URL",
            settings.nats_url,
            describe(exc),
        )
    try:
        yield SharedWindowLimiter(
            bucket,
            limit=settings.rate_limit_burst,
            window_seconds=window,
            lease=settings.rate_limit_shared_lease,
            timeout=settings.rate_limit_shared_timeout,
            retry_seconds=settings.rate_limit_shared_retry_seconds,
            fallback=local,
        )
    finally:
        await bucket.close()
