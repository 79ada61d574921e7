"""Health bands at their boundaries (docs/domain-rules.md, "Health")."""

from __future__ import annotations

import pytest

from clientpulse.clients.domain.health import health_band
from clientpulse.shared.contracts.events import HealthBand


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, HealthBand.RED), (39, HealthBand.RED), (40, HealthBand.AMBER), (69, HealthBand.AMBER),
     (70, HealthBand.GREEN), (100, HealthBand.GREEN)],
)  # fmt: skip
def test_health_band_boundaries(score: int, band: HealthBand) -> None:
    assert health_band(score) is band


@pytest.mark.parametrize("score", [-1, 101])
def test_health_outside_0_to_100_is_refused(score: int) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        health_band(score)
