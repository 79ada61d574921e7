"""Analysis health status bands (DESIGN.md §6, AI analysis)."""

from __future__ import annotations


def analysis_status(health_score: int) -> str:
    """good at 70 and above, warning from 40, critical below 40."""
    if not 0 <= health_score <= 100:
        raise ValueError(f"health score must be 0–100, got {health_score}")
    if health_score >= 70:
        return "good"
    if health_score >= 40:
        return "warning"
    return "critical"
