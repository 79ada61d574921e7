"""The ``oauth_states`` table: authorization-code flows waiting for their callback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.models import OAuthState


class OAuthStateRepository:
    """Authorization-code flows in progress."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, state: OAuthState) -> None:
        """Remember a flow until its callback or its expiry."""
        self.session.add(state)
        await self.session.flush()

    async def take(self, state: str, platform: str, now: datetime) -> OAuthState | None:
        """The flow named by ``state``, removed so it can be used once; ``None`` if unknown or expired."""
        row = (await self.session.scalars(select(OAuthState).where(OAuthState.state == state))).first()
        if row is None or row.platform != platform:
            return None
        await self.session.delete(row)
        await self.session.flush()
        return row if row.expires_at > now else None

    async def rotate_verifiers(self, rotate: Callable[[str], str]) -> int:
        """Re-encrypt the PKCE code verifier of every pending flow; returns how many."""
        count = 0
        for flow in (await self.session.scalars(select(OAuthState).where(OAuthState.code_verifier.is_not(None)))).all():
            flow.code_verifier = rotate(flow.code_verifier or "")
            count += 1
        await self.session.flush()
        return count
