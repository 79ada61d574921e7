"""Repositories of the notifications service, the only code that speaks SQL: one module per table."""
