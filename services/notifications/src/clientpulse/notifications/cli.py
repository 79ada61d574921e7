"""``clientpulse-notifications``: serve the notifications service or migrate its database."""

from __future__ import annotations

import sys

from clientpulse.notifications.app import MIGRATIONS
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.shared.servicecli import service_cli

main = service_cli(
    service="notifications",
    app_factory="clientpulse.notifications.app:create_app",
    settings=NotificationsSettings,
    migrations=MIGRATIONS,
)

if __name__ == "__main__":
    sys.exit(main(None))
