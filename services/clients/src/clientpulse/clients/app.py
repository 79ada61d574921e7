"""The clients service's Litestar app."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from clientpulse.clients.api.check_ins import CheckInController
from clientpulse.clients.api.clients import ClientController
from clientpulse.clients.api.companies import CompanyController
from clientpulse.clients.api.goals import GoalController
from clientpulse.clients.api.groups import GroupController
from clientpulse.clients.api.health import HealthController
from clientpulse.clients.api.me import MeController
from clientpulse.clients.api.notes import NoteController
from clientpulse.clients.api.prompts import ConversionPromptController
from clientpulse.clients.api.qbrs import QbrController
from clientpulse.clients.api.review import ReviewDecisionController
from clientpulse.clients.domain.senior_dms import SeniorDms
from clientpulse.clients.events import handlers
from clientpulse.clients.settings import ClientsSettings
from clientpulse.shared.contracts import Stream
from clientpulse.shared.service import build_runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ClientsSettings | None = None) -> Litestar:
    """Build the app (nothing connects until its lifespan starts)."""
    settings = settings or ClientsSettings()
    runtime = build_runtime(settings, migrations=MIGRATIONS, publishes=[Stream.CLIENTS])
    senior_dms = SeniorDms.of(settings.senior_dms)
    handlers.register(runtime.bus, senior_dms)
    return create_service_app(
        runtime,
        route_handlers=[
            CompanyController,
            ClientController,
            ConversionPromptController,
            HealthController,
            QbrController,
            CheckInController,
            ReviewDecisionController,
            GoalController,
            NoteController,
            GroupController,
            MeController,
        ],
        title="clientpulse clients",
        description="Companies, client profiles, lifecycle, health, QBRs, check-ins, goals, notes and history.",
        provides={"senior_dms": senior_dms},
    )
