"""How a connection stands with its platform."""

from __future__ import annotations

import enum


class ConnectionStatus(enum.StrEnum):
    """Health of a connection: ``expired`` waits for a person to connect again; ``error`` names the fault."""

    CONNECTED = "connected"
    EXPIRED = "expired"
    ERROR = "error"
