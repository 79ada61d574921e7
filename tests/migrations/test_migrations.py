"""Every service's migrations build exactly the schema its models describe, on PostgreSQL and on
SQLite, and can be taken down and up again."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from clientpulse.shared.client_directory import CLIENT_DIRECTORY_METADATA
from clientpulse.shared.db import alembic_config, create_engine
from clientpulse.shared.messaging import MESSAGING_METADATA

pytestmark = [
    pytest.mark.integration,
    # SQLite cannot reflect expression indexes (lower(domain)); PostgreSQL compares them.
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
]

SERVICES = ["clients", "tiering", "results_ingest", "insights", "notifications"]


def target_metadata(module: str) -> list[MetaData]:
    env = (Path(importlib.import_module(f"clientpulse.{module}").__file__).parent / "migrations" / "env.py").read_text()
    metadata = [importlib.import_module(f"clientpulse.{module}.db.models").Base.metadata, MESSAGING_METADATA]
    if "CLIENT_DIRECTORY_METADATA" in env:
        metadata.append(CLIENT_DIRECTORY_METADATA)
    return metadata


async def schema_differences(url: str, metadata: list[MetaData]) -> list:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def compare(sync_connection):
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return compare_metadata(context, metadata)

            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("module", SERVICES)
def test_migrations_match_the_models_and_go_down_and_up(module: str, database_url: str) -> None:
    migrations = Path(importlib.import_module(f"clientpulse.{module}").__file__).parent / "migrations"
    config = alembic_config(migrations, database_url)
    command.upgrade(config, "head")
    assert asyncio.run(schema_differences(database_url, target_metadata(module))) == []
    command.downgrade(config, "base")
    command.upgrade(config, "head")
