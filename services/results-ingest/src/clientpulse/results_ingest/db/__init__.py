"""Tables and repositories of the results-ingest service."""
