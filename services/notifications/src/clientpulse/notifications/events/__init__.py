"""Event handlers of the notifications service."""
