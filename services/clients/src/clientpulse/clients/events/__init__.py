"""Event handlers of the clients service (thin: decode, call the domain)."""
