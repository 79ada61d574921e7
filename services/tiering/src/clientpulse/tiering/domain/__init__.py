"""The tiering domain, one module per entity: the scoring rules as plain functions, and the use cases
(scores, overrides, receipts, portfolio, recalculation), each run in the caller's unit of work."""
