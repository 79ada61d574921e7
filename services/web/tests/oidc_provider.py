"""An OpenID Connect provider for the tests, run as its own process: ``python oidc_provider.py PORT USERS_JSON``.

It is ``oidc-provider-mock`` (authorization code, discovery, JWKS, RS256 ID tokens carrying each
user's claims), with PKCE enforced in front of it: the mock itself ignores ``code_challenge``, so a
code is redeemed only with the verifier whose S256 challenge came with the authorization request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

import werkzeug.serving
from oidc_provider_mock import app as provider_app
from oidc_provider_mock._storage import User

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class PkceEnforced:
    """WSGI middleware: remember each code's challenge; refuse a token request without the matching verifier."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.challenges: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/token" and environ.get("REQUEST_METHOD") == "POST":
            return self._token(environ, start_response)
        if path != "/oauth2/authorize":
            return self.app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        challenge = query.get("code_challenge", [""])[0]
        method = query.get("code_challenge_method", [""])[0]

        def remember(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            location = dict(headers).get("Location", "")
            code = parse_qs(urlparse(location).query).get("code", [""])[0]
            if code:
                with self.lock:
                    self.challenges[code] = challenge if method == "S256" else ""
            return start_response(status, headers, *args)

        return self.app(environ, remember)

    def _token(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        form = parse_qs(body.decode())
        code, verifier = form.get("code", [""])[0], form.get("code_verifier", [""])[0]
        with self.lock:
            expected = self.challenges.pop(code, None)
        if not expected or not verifier or _challenge(verifier) != expected:
            payload = json.dumps({"error": "invalid_grant", "error_description": "PKCE verification failed"}).encode()
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [payload]
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


def main() -> None:
    port = int(sys.argv[1])
    users = [User(sub=u["sub"], claims={k: v for k, v in u.items() if k != "sub"}) for u in json.loads(sys.argv[2])]
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = PkceEnforced(provider_app(require_nonce=True, user_claims=users))
    server = werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True)  # type: ignore[arg-type]
    print(f"listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
