"""The shared kit of clientpulse: contracts, identity, database, messaging, telemetry and settings."""
