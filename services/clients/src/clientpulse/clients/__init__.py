"""The clients service: companies, client profiles and their lifecycle."""
