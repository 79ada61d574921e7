"""Alembic environment of the tiering service."""

from clientpulse.shared.client_directory import CLIENT_DIRECTORY_METADATA
from clientpulse.shared.db import run_migrations_from_env
from clientpulse.shared.messaging import MESSAGING_METADATA
from clientpulse.tiering.db.models import Base

run_migrations_from_env([Base.metadata, MESSAGING_METADATA, CLIENT_DIRECTORY_METADATA])
