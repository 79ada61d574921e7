"""Connectors: the real platform APIs (or the sandbox) spoken over HTTP, one module per platform."""
