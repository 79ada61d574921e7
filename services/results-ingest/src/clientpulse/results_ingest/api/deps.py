"""What the results-ingest controllers ask for besides the caller and the database."""

from __future__ import annotations

from litestar.di import NamedDependency

from clientpulse.results_ingest.domain.ingest import Runtime

# Settings, HTTP client, secret box, clock and shared pauses: what talking to platforms needs.
PlatformRuntime = NamedDependency[Runtime]
