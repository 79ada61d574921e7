"""What Google Ads and GA4 share of Google's OAuth 2 for web server apps: the consent page's address."""

from __future__ import annotations

from urllib.parse import urlencode


def google_authorization_url(
    authorize_url: str, *, client_id: str, scope: str, state: str, redirect_uri: str, code_challenge: str | None
) -> str:
    """Google's consent page: authorization code with PKCE (S256), offline access, and ``prompt=consent``
    so a refresh token is issued every time."""
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "access_type": "offline",
        "prompt": "consent",
        "state": state,
        "code_challenge": code_challenge or "",
        "code_challenge_method": "S256",
    }
    return f"{authorize_url}?{urlencode(params)}"
