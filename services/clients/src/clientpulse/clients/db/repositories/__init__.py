"""Repositories of the clients service: one module per table, all SQL lives here."""
