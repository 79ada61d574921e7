"""Connection secrets encrypted at rest with keys kept outside the database.

``CLIENTPULSE_RESULTS_ENCRYPTION_KEYS`` is a JSON list of Fernet keys: the first encrypts, all
decrypt. Rotation: prepend a new key, restart, run ``clientpulse-results-ingest rotate-secrets``
(re-encrypts every stored secret with the first key), then drop the old key.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


class SecretBox:
    """Encrypts and decrypts a connection's credentials (a small JSON object)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed: set CLIENTPULSE_RESULTS_ENCRYPTION_KEYS")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_json(cls, keys_json: str) -> SecretBox:
        """Keys from the JSON list the setting holds."""
        try:
            keys = json.loads(keys_json)
        except json.JSONDecodeError as exc:
            raise ValueError("CLIENTPULSE_RESULTS_ENCRYPTION_KEYS must be a JSON list of Fernet keys") from exc
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("CLIENTPULSE_RESULTS_ENCRYPTION_KEYS must be a JSON list of Fernet keys")
        return cls(keys)

    def seal(self, secret: dict[str, Any]) -> str:
        """Ciphertext of ``secret`` under the first key."""
        return self._fernet.encrypt(json.dumps(secret, separators=(",", ":")).encode()).decode()

    def open(self, ciphertext: str) -> dict[str, Any]:
        """The secret back from its ciphertext (any configured key)."""
        try:
            value = json.loads(self._fernet.decrypt(ciphertext.encode()))
        except InvalidToken as exc:
            raise SecretsUnreadable("no configured encryption key decrypts this secret") from exc
        if not isinstance(value, dict):
            raise SecretsUnreadable("a stored secret is not a JSON object")
        return value

    def rotate(self, ciphertext: str) -> str:
        """The same secret re-encrypted under the first key."""
        return self._fernet.rotate(ciphertext.encode()).decode()


def mask(value: str | None) -> str | None:
    """What a person may see of a secret: its last four characters at most."""
    if not value:
        return None
    return "••••" + value[-4:] if len(value) > 8 else "••••"
