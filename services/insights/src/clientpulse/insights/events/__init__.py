"""Event handlers of the insights service."""
