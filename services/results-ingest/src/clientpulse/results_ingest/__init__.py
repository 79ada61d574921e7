"""The results-ingest service: platform connections, connectors, sync, backfill and the results API."""
