"""Tables and repositories of the tiering service."""
