"""Repositories of the results-ingest service, the only code that speaks SQL: one module per table."""
