"""HTTP controllers of the insights service."""
