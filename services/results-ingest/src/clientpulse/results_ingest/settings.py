"""Settings of the results-ingest service (``CLIENTPULSE_RESULTS_*``)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from clientpulse.shared.settings import ServiceSettings

# Embedded mode only: production sets its own keys (a key in the repository protects nothing).
DEV_ENCRYPTION_KEYS = '["Y2xpZW50cHVsc2UtZGV2LWtleS1ub3QtZm9yLXByb2Q="]'
SANDBOX = "http://127.0.0.1:4260"


class ResultsSettings(ServiceSettings):
    """The results-ingest service's settings; defaults run the embedded mode against the sandbox."""

    model_config = SettingsConfigDict(env_prefix="CLIENTPULSE_RESULTS_", extra="ignore")

    service_name: str = "results-ingest"
    port: int = 8003
    encryption_keys: SecretStr = SecretStr(DEV_ENCRYPTION_KEYS)
    # Where each platform is; the embedded default is the bundled sandbox, production the real APIs
    # (https://graph.facebook.com, https://googleads.googleapis.com, https://business-api.tiktok.com).
    meta_base_url: str = f"{SANDBOX}/meta"
    meta_api_version: str = "v25.0"
    meta_authorize_url: str = f"{SANDBOX}/meta/dialog/oauth"
    meta_app_id: str = "sandbox-meta-app"
    meta_app_secret: SecretStr = SecretStr("sandbox-meta-secret")
    google_ads_base_url: str = f"{SANDBOX}/google-ads"
    google_ads_api_version: str = "v21"
    google_oauth_token_url: str = f"{SANDBOX}/google-oauth/token"
    google_authorize_url: str = f"{SANDBOX}/google-oauth/auth"
    google_client_id: str = "sandbox-google-client"
    google_client_secret: SecretStr = SecretStr("sandbox-google-secret")
    google_developer_token: SecretStr = SecretStr("sandbox-developer-token")
    tiktok_base_url: str = f"{SANDBOX}/tiktok"
    tiktok_authorize_url: str = f"{SANDBOX}/tiktok/portal/auth"
    tiktok_app_id: str = "sandbox-tiktok-app"
    tiktok_app_secret: SecretStr = SecretStr("sandbox-tiktok-secret")
    # Where the platform sends the browser back after consent (the gateway's public callback).
    oauth_redirect_base: str = "http://127.0.0.1:8000"
    http_timeout: float = 30.0
    # Retries of one request on throttling or 5xx before the work is handed back to the queue.
    max_retries: int = 6
    retry_base_wait: float = 1.0
    max_retry_wait: float = 60.0
