"""HTTP controllers of the results-ingest service."""
