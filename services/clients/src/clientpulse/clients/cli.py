"""``clientpulse-clients``: serve the clients service or migrate its database."""

from __future__ import annotations

import sys

from clientpulse.clients.app import MIGRATIONS
from clientpulse.clients.settings import ClientsSettings
from clientpulse.shared.servicecli import service_cli

main = service_cli(
    service="clients",
    app_factory="clientpulse.clients.app:create_app",
    settings=ClientsSettings,
    migrations=MIGRATIONS,
)

if __name__ == "__main__":
    sys.exit(main(None))
