"""The tiering service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app
from clientpulse.tiering import metrics
from clientpulse.tiering.api.client_tiering import ClientTieringController
from clientpulse.tiering.api.framework import FrameworkController
from clientpulse.tiering.api.framework_proposals import FrameworkProposalController
from clientpulse.tiering.api.invoices import InvoiceImportController
from clientpulse.tiering.api.portfolio import PortfolioController
from clientpulse.tiering.api.recalculations import RecalculationController
from clientpulse.tiering.domain.revenue import RevenueDesk
from clientpulse.tiering.events import handlers
from clientpulse.tiering.productive import ProductiveClient
from clientpulse.tiering.settings import TieringSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def revenue_desk(settings: TieringSettings) -> RevenueDesk:
    """Rates from the settings, and the Productive fallback when it is configured."""
    productive = None
    if settings.productive_base_url and settings.productive_token and settings.productive_organization_id:
        productive = ProductiveClient(
            settings.productive_base_url,
            token=settings.productive_token.get_secret_value(),
            organization_id=settings.productive_organization_id,
            page_size=settings.productive_page_size,
            max_retries=settings.productive_max_retries,
            timeout=settings.productive_timeout,
        )
    return RevenueDesk(settings.rate_table(), productive)


def create_app(settings: TieringSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    settings = settings or TieringSettings()
    runtime = build_runtime(settings, migrations=MIGRATIONS, publishes=[Stream.TIERING])
    desk = revenue_desk(settings)
    handlers.register(runtime.bus, desk)
    return create_service_app(
        runtime,
        route_handlers=[
            FrameworkController,
            ClientTieringController,
            PortfolioController,
            RecalculationController,
            InvoiceImportController,
            FrameworkProposalController,
        ],
        title="clientpulse tiering",
        description="Scoring framework, revenue ledger, Score Now, overrides, recalculation and portfolio rollup.",
        provides={"desk": desk},
        lifespan=[metrics.last_completed_on_start(runtime.database)],
    )
