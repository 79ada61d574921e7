"""``clientpulse-insights``: serve the insights service or migrate its database."""

from __future__ import annotations

import sys

from clientpulse.insights.app import MIGRATIONS
from clientpulse.insights.settings import InsightsSettings
from clientpulse.shared.servicecli import service_cli

main = service_cli(
    service="insights",
    app_factory="clientpulse.insights.app:create_app",
    settings=InsightsSettings,
    migrations=MIGRATIONS,
)

if __name__ == "__main__":
    sys.exit(main(None))
