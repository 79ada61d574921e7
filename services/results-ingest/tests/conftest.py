"""Fixtures of the results-ingest tests; they live in ``results_testkit`` so test modules can import its helpers by a
name no other service's tests share."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from results_testkit import *  # noqa: F403
