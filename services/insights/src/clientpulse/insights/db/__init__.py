"""Tables and repositories of the insights service."""
