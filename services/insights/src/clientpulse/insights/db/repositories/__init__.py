"""Repositories of the insights service: one module per table, all SQL lives here."""
