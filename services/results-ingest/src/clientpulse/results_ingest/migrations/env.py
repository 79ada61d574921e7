"""Alembic environment of the results-ingest service."""

from clientpulse.results_ingest.db.models import Base
from clientpulse.shared.client_directory import CLIENT_DIRECTORY_METADATA
from clientpulse.shared.db import run_migrations_from_env
from clientpulse.shared.messaging import MESSAGING_METADATA

run_migrations_from_env([Base.metadata, MESSAGING_METADATA, CLIENT_DIRECTORY_METADATA])
