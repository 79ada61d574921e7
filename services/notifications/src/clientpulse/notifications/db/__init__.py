"""Tables and repositories of the notifications service."""
