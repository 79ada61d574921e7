"""History entries that name another client read, to a caller who may not see it, as "another client"."""

from __future__ import annotations

import pytest

from clientpulse.clients.domain.history import redacted, referenced_clients

JOINED = ("GroupMemberAdded", "c-9 joined the group", {"member_id": "c-9"})
MOVED = (
    "ClientGroupChanged",
    "Group parent set to c-1",
    {"client_id": "c-5", "parent_id": "c-1", "previous_parent_id": "c-2"},
)
LEFT_BEFORE = ("GroupMemberRemoved", "c-7 left the group", {})  # written before member_id was kept


def test_the_clients_an_entry_names() -> None:
    assert referenced_clients(*JOINED) == {"c-9"}
    assert referenced_clients(*MOVED) == {"c-1", "c-2"}  # the entry's own client is not "another"
    assert referenced_clients(*LEFT_BEFORE) == {"c-7"}
    assert referenced_clients("HealthScored", "Health 40", {"score": 40}) == set()


@pytest.mark.parametrize(
    ("entry", "hidden", "line", "details"),
    [
        (JOINED, {"c-9"}, "another client joined the group", {"member_id": None}),
        (JOINED, set(), "c-9 joined the group", {"member_id": "c-9"}),
        (JOINED, {"c-1"}, "c-9 joined the group", {"member_id": "c-9"}),
        (LEFT_BEFORE, {"c-7"}, "another client left the group", {}),
        (MOVED, {"c-1"}, "Group parent set to another client",
         {"client_id": "c-5", "parent_id": None, "previous_parent_id": "c-2"}),
        (MOVED, {"c-2"}, "Group parent set to c-1",
         {"client_id": "c-5", "parent_id": "c-1", "previous_parent_id": None}),
    ],
)  # fmt: skip
def test_hidden_clients_are_unnamed(entry: tuple[str, dict], hidden: set[str], line: str, details: dict) -> None:
    assert redacted(*entry, hidden) == (line, details)
