"""Alembic environment of the clients service."""

from clientpulse.clients.db.models import Base
from clientpulse.shared.db import run_migrations_from_env
from clientpulse.shared.messaging import MESSAGING_METADATA

run_migrations_from_env([Base.metadata, MESSAGING_METADATA])
