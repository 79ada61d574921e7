"""``python -m clientpulse.platform_sandbox``: the same as the ``clientpulse-platform-sandbox`` command."""

import sys

from clientpulse.platform_sandbox.cli import main

sys.exit(main())
