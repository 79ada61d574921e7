"""Inline SVG charts: a line over time with optional coloured bands, and a spend sparkline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Band:
    """A horizontal band of the value axis, drawn behind the line (e.g. health Green ≥ 70)."""

    low: float
    high: float
    colour: str
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    """What a template needs to draw a line chart: the polyline, the points, the bands in SVG units."""

    width: int
    height: int
    points: list[tuple[float, float, str, float]]  # x, y, label, value
    bands: list[tuple[float, float, str, str]]  # y, height, colour, label

    @property
    def polyline(self) -> str:
        """The ``points`` attribute of an SVG polyline."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


def line_chart(
    values: Sequence[tuple[str, float]],
    *,
    low: float,
    high: float,
    bands: Sequence[Band] = (),
    width: int = 600,
    height: int = 160,
) -> LineChart:
    """Points (label, value) spread evenly left to right, oldest first, scaled to ``low``–``high``."""
    span = (high - low) or 1.0

    def y(value: float) -> float:
        clamped = min(max(value, low), high)
        return height - (clamped - low) / span * height

    step = width / max(len(values) - 1, 1)
    points = [
        (index * step if len(values) > 1 else width / 2, y(v), label, v) for index, (label, v) in enumerate(values)
    ]
    drawn = [(y(b.high), y(b.low) - y(b.high), b.colour, b.label) for b in bands]
    return LineChart(width, height, points, drawn)


def sparkline(series: Sequence[int], *, width: int = 80, height: int = 20) -> str:
    """The ``points`` of a small polyline for a daily series (empty when there is nothing to draw)."""
    if len(series) < 2:
        return ""
    top = max(series) or 1
    step = width / (len(series) - 1)
    return " ".join(f"{i * step:.1f},{height - value / top * height:.1f}" for i, value in enumerate(series))


HEALTH_BANDS = (
    Band(70, 100, "#d9f2e3", "Green 70–100"),
    Band(40, 70, "#fdf0d5", "Amber 40–69"),
    Band(0, 40, "#fbe0e0", "Red 0–39"),
)
