"""Lets the tests import their helper modules (``probe_testkit``) by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
