"""Group accounts never loop back on themselves."""

from __future__ import annotations

from clientpulse.clients.domain.groups import creates_group_cycle


def test_group_cycles_are_detected() -> None:
    parents = {"b": "a", "c": "b", "a": None}
    assert creates_group_cycle("a", "c", parents.get)  # a → c → b → a
    assert not creates_group_cycle("d", "c", parents.get)
