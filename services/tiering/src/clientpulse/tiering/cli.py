"""``clientpulse-tiering``: serve the tiering service or migrate its database."""

from __future__ import annotations

import sys

from clientpulse.shared.servicecli import service_cli
from clientpulse.tiering.app import MIGRATIONS
from clientpulse.tiering.settings import TieringSettings

main = service_cli(
    service="tiering",
    app_factory="clientpulse.tiering.app:create_app",
    settings=TieringSettings,
    migrations=MIGRATIONS,
)

if __name__ == "__main__":
    sys.exit(main(None))
