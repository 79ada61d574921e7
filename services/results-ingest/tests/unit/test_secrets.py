"""Connection secrets at rest: MultiFernet, first key encrypts, all decrypt, rotation by prepending."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from clientpulse.results_ingest.secrets_vault import SecretBox, SecretsUnreadable, mask


def test_a_secret_round_trips_and_the_ciphertext_shows_nothing() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    sealed = box.seal({"access_token": "sbx-very-secret-token"})
    assert "sbx-very-secret-token" not in sealed
    assert box.open(sealed) == {"access_token": "sbx-very-secret-token"}


def test_rotation_by_prepending_a_key_keeps_old_secrets_readable() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = SecretBox([old]).seal({"access_token": "t-1"})
    rotated_box = SecretBox.from_json(json.dumps([new, old]))
    assert rotated_box.open(sealed_with_old) == {"access_token": "t-1"}
    rotated = rotated_box.rotate(sealed_with_old)
    assert SecretBox([new]).open(rotated) == {"access_token": "t-1"}  # the old key can now be dropped
    with pytest.raises(SecretsUnreadable):
        SecretBox([old]).open(rotated)


@pytest.mark.parametrize("keys", ["", "not json", '{"a": 1}', "[1, 2]", "[]"])
def test_keys_must_be_a_json_list_of_fernet_keys(keys: str) -> None:
    with pytest.raises(ValueError, match="ENCRYPTION_KEYS"):
        SecretBox.from_json(keys)


def test_masks_show_at_most_the_last_four_characters() -> None:
    assert mask("sbx-google_ads-abcdefgh") == "••••efgh"
    assert mask("short") == "••••"
    assert mask(None) is None
