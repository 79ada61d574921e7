"""HTTP controllers of the notifications service."""
