"""Event handlers of the tiering service."""
