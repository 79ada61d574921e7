"""What the tiering app provides to its controllers by name."""

from __future__ import annotations

from litestar.di import NamedDependency

from clientpulse.tiering.domain.revenue import RevenueDesk

# The revenue desk (rates + Productive client) the app provides as ``desk``.
Desk = NamedDependency[RevenueDesk]
