"""``clientpulse-results-ingest``: serve the results-ingest service or migrate its database."""

from __future__ import annotations

import sys

from clientpulse.results_ingest.app import MIGRATIONS
from clientpulse.results_ingest.settings import ResultsSettings
from clientpulse.shared.servicecli import service_cli

main = service_cli(
    service="results-ingest",
    app_factory="clientpulse.results_ingest.app:create_app",
    settings=ResultsSettings,
    migrations=MIGRATIONS,
)

if __name__ == "__main__":
    sys.exit(main(None))
