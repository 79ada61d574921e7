"""Settings of the clients service (``CLIENTPULSE_CLIENTS_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class ClientsSettings(ServiceSettings):
    """The clients service's settings; defaults run the embedded mode.

    - ``CLIENTPULSE_CLIENTS_SENIOR_DMS``: ``["u-7", …]``, the user ids of the senior DMs a Platinum client
      must be looked after by; empty (the default) checks nobody.
    - ``CLIENTPULSE_CLIENTS_CHECK_IN_REMINDER_DAYS``: how many days before a monthly check-in falls due the
      daily check reminds the DM (CheckInDue).
    """

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_CLIENTS_", extra="ignore")

    service_name: str = "clients"
    port: int = 8001

    senior_dms: list[str] = Field(default_factory=list)
    check_in_reminder_days: int = Field(default=3, ge=0, le=27)
