"""Where a connector's rows belong: the account every results table is keyed by."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """Where a connector's rows belong."""

    connection_id: str
    client_id: str
    platform: str
    time_zone: str
