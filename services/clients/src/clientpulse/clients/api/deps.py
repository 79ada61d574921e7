"""What route handlers of the clients service ask for by name beyond the shared ones."""

from __future__ import annotations

from litestar.di import NamedDependency

from clientpulse.clients.domain.senior_dms import SeniorDms

# ``senior_dms: SeniorDmsDep``: the configured senior DMs (``CLIENTPULSE_CLIENTS_SENIOR_DMS``).
SeniorDmsDep = NamedDependency[SeniorDms]
