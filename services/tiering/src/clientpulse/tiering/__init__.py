"""The tiering service: scoring framework, revenue ledger, scores, overrides and recalculation."""
