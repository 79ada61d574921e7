"""Repositories of the tiering service: one module per table, all SQL lives here."""
