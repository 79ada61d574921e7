"""Event handlers of the results-ingest service."""
