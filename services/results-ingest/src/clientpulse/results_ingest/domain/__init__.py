"""The results-ingest domain: rules as plain functions."""
