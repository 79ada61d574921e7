"""Settings of the notifications service (``CLIENTPULSE_NOTIFICATIONS_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """The notifications service's settings; defaults run the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    port: int = 8005
