"""Fixtures of the insights tests; they live in ``insights_testkit`` so test modules can import its helpers by a
name no other service's tests share."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from insights_testkit import *  # noqa: F403
