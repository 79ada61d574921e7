"""Roles, the client access rule and the signed identity the gateway forwards."""

import pytest

from clientpulse.shared.identity import (
    IDENTITY_TTL_SECONDS,
    Identity,
    IdentityError,
    IdentitySigner,
    Role,
    sign_identity,
    verify_identity,
)

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


def test_a_verified_identity_is_refused_once_it_expires() -> None:
    token = sign_identity(Identity("u", Role.EXECUTIVE), SECRET, now=1_000_000)
    assert verify_identity(token, SECRET, now=1_000_010).sub == "u"  # verified, and remembered
    with pytest.raises(IdentityError, match="expired"):
        verify_identity(token, SECRET, now=1_000_000 + IDENTITY_TTL_SECONDS + 6)


def test_a_refused_token_stays_refused() -> None:
    forged = sign_identity(Identity("u", Role.EXECUTIVE), "another-secret-of-sufficient-length!!")
    for _ in range(2):
        with pytest.raises(IdentityError):
            verify_identity(forged, SECRET)


def test_the_signer_reuses_an_identitys_token_for_half_its_life() -> None:
    sign = IdentitySigner(SECRET)
    ada, bob = Identity("u-1", Role.MANAGER, "s-1", "Ada"), Identity("u-2", Role.HEAD)
    first = sign(ada, now=1_000_000)
    assert sign(ada, now=1_000_000 + IDENTITY_TTL_SECONDS / 2 - 1) == first
    assert sign(bob, now=1_000_001) != first
    renewed = sign(ada, now=1_000_000 + IDENTITY_TTL_SECONDS / 2)
    assert renewed != first
    assert verify_identity(renewed, SECRET, now=1_000_000 + IDENTITY_TTL_SECONDS) == ada


def test_the_signer_forgets_identities_beyond_its_bound() -> None:
    sign = IdentitySigner(SECRET, max_identities=2)
    first = sign(Identity("u-1", Role.EXECUTIVE), now=1_000_000)
    sign(Identity("u-2", Role.EXECUTIVE), now=1_000_000)
    sign(Identity("u-3", Role.EXECUTIVE), now=1_000_000)  # over the bound: the remembered ones go
    assert sign(Identity("u-1", Role.EXECUTIVE), now=1_000_001) != first
