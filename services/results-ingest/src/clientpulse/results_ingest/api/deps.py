"""What the results-ingest controllers ask for besides the caller and the database."""

from __future__ import annotations

import httpx
from litestar.di import NamedDependency

from clientpulse.results_ingest.secrets_vault import SecretBox
from clientpulse.results_ingest.settings import ResultsSettings

Box = NamedDependency[SecretBox]
Settings = NamedDependency[ResultsSettings]
Http = NamedDependency[httpx.AsyncClient]
