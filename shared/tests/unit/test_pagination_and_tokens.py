"""Cursors and development-token settings."""

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from clientpulse.shared.errors import Unprocessable
from clientpulse.shared.identity import Role
from clientpulse.shared.pagination import clamp_limit, decode_cursor, encode_cursor
from clientpulse.shared.tokens import JwtSettings, mint_token


def test_cursor_round_trips() -> None:
    assert decode_cursor(encode_cursor({"id": "01a2"})) == {"id": "01a2"}
    assert decode_cursor(None) is None


@pytest.mark.parametrize("cursor", ["not-base64!", "bnVsbA", "WzFd"])  # garbage, null, a list
def test_a_foreign_cursor_is_a_422(cursor: str) -> None:
    with pytest.raises(Unprocessable):
        decode_cursor(cursor)


@pytest.mark.parametrize(("limit", "expected"), [(None, 50), (1, 1), (200, 200)])
def test_limit_bounds(limit: int | None, expected: int) -> None:
    assert clamp_limit(limit) == expected


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_out_of_range_is_a_422(limit: int) -> None:
    with pytest.raises(Unprocessable):
        clamp_limit(limit)


def test_dev_token_has_the_claims_the_gateway_requires() -> None:
    settings = JwtSettings(secret=SecretStr("s" * 40))
    token = mint_token(settings, sub="u-42", role=Role.MANAGER, squad="s-1")
    claims = jwt.decode(token, "s" * 40, algorithms=["HS256"], audience=settings.audience, issuer=settings.issuer)
    assert {claims["sub"], claims["role"], claims["squad"]} == {"u-42", "manager", "s-1"}
    assert claims["exp"] > claims["iat"]


def test_mixing_symmetric_and_asymmetric_algorithms_is_refused() -> None:
    with pytest.raises(ValidationError):
        JwtSettings(algorithms=["HS256", "RS256"], jwks_url="https://idp.example/jwks")


def test_asymmetric_algorithms_need_a_jwks_url() -> None:
    with pytest.raises(ValidationError):
        JwtSettings(algorithms=["RS256"], secret=None)


def test_the_next_cursor_points_past_a_full_page_and_is_absent_on_the_last() -> None:
    from types import SimpleNamespace

    from clientpulse.shared.pagination import cursor_id, next_cursor_after

    rows = [SimpleNamespace(id=f"r{n}") for n in range(4)]  # a page of 3 fetched with one extra row
    assert cursor_id(next_cursor_after(rows, 3)) == "r2"
    assert next_cursor_after(rows[:3], 3) is None
    assert cursor_id(None) is None
