"""HTTP controllers of the tiering service."""
