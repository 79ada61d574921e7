"""Roles, the client access rule and the signed identity the gateway forwards."""

import pytest

from clientpulse.shared.identity import Identity, IdentityError, Role, sign_identity, verify_identity

SECRET = "a-secret-of-a-decent-length-for-hs256-signing"


@pytest.mark.parametrize(
    ("identity", "dm_id", "squad_id", "allowed"),
    [
        (Identity("u-1", Role.EXECUTIVE), "u-9", "s-9", True),
        (Identity("u-1", Role.HEAD, "s-1"), "u-9", "s-9", True),
        (Identity("u-42", Role.MANAGER, "s-1"), "u-42", "s-9", True),  # assigned DM
        (Identity("u-42", Role.MANAGER, "s-1"), "u-9", "s-1", True),  # own squad
        (Identity("u-42", Role.MANAGER, "s-1"), "u-9", "s-2", False),  # other squad
        (Identity("u-42", Role.MANAGER, None), None, None, False),
        (Identity("u-42", Role.MANAGER, "s-1"), None, None, False),
        (Identity("u-42", Role.LEAD, "s-1"), "u-42", "s-1", False),
        (Identity("u-42", Role.EMPLOYEE, "s-1"), "u-42", "s-1", False),
    ],
)
def test_client_access_rule(identity: Identity, dm_id: str | None, squad_id: str | None, allowed: bool) -> None:
    assert identity.can_access_client(dm_id=dm_id, squad_id=squad_id) is allowed


def test_only_executive_head_and_manager_use_the_clients_module() -> None:
    assert {r for r in Role if Identity("u", r).may_use_clients_module} == {Role.EXECUTIVE, Role.HEAD, Role.MANAGER}


def test_roles_parse_case_insensitively() -> None:
    assert Role.parse(" Manager ") is Role.MANAGER
    with pytest.raises(ValueError, match="intern"):
        Role.parse("intern")


def test_forwarded_identity_round_trips() -> None:
    identity = Identity("u-42", Role.MANAGER, "s-1", "Ada")
    assert verify_identity(sign_identity(identity, SECRET), SECRET) == identity


def test_tampered_identity_is_refused() -> None:
    token = sign_identity(Identity("u-42", Role.MANAGER, "s-1"), SECRET)
    header, _payload, signature = token.split(".")
    forged = sign_identity(Identity("u-42", Role.EXECUTIVE), SECRET).split(".")[1]
    with pytest.raises(IdentityError):
        verify_identity(f"{header}.{forged}.{signature}", SECRET)


def test_identity_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(IdentityError):
        verify_identity(sign_identity(Identity("u", Role.EXECUTIVE), "another-secret-of-sufficient-length!!"), SECRET)


def test_expired_identity_is_refused() -> None:
    token = sign_identity(Identity("u", Role.EXECUTIVE), SECRET, now=1_000_000)
    with pytest.raises(IdentityError):
        verify_identity(token, SECRET)
