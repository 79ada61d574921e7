"""The console's only way to data: the public gateway API, called with the signed-in user's token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

API_PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class ApiProblem(Exception):
    """A problem details answer (RFC 9457) from the gateway, or a failure to reach it, in words."""

    status: int
    title: str
    detail: str

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}" if self.detail else self.title


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        title = str(body.get("title") or response.reason_phrase)
        detail = str(body.get("detail") or "")
        errors = body.get("errors") or body.get("extra")
        if isinstance(errors, list) and errors and not detail:
            detail = "; ".join(_error_text(error) for error in errors) or detail
        return ApiProblem(response.status_code, title, detail)
    return ApiProblem(response.status_code, response.reason_phrase or "Error", response.text[:300])


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        where = error.get("key") or error.get("loc") or error.get("source") or ""
        message = error.get("message") or error.get("msg") or ""
        return f"{where}: {message}" if where else str(message)
    return str(error)


class Gateway:
    """An HTTP client of the gateway, shared by every request; each call names the caller's token."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.base_url = base_url
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The JSON answer of one API call (None for 204); ``ApiProblem`` for any 4xx/5xx or transport failure."""
        query = {key: value for key, value in (params or {}).items() if value not in (None, "")}
        try:
            response = await self._client.request(
                method, API_PREFIX + path, params=query, json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise ApiProblem(
                502, "The gateway could not be reached", f"{self.base_url} did not answer ({type(exc).__name__})"
            ) from exc
        if response.status_code >= 400:
            raise _problem(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def alive(self) -> bool:
        """Whether the gateway answers its liveness probe."""
        try:
            return (await self._client.get("/healthz", timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def get(self, path: str, token: str, **params: Any) -> Any:
        """GET with query parameters."""
        return await self.call("GET", path, token, params=params)

    async def post(self, path: str, token: str, body: Any = None) -> Any:
        """POST a JSON body."""
        return await self.call("POST", path, token, json=body if body is not None else {})

    async def stream(self, path: str, token: str, last_event_id: str | None) -> AsyncIterator[bytes]:
        """The raw bytes of a server-sent event stream, relayed as they come."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(10.0, read=None)
        async with self._client.stream("GET", API_PREFIX + path, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _problem(response)
            async for chunk in response.aiter_raw():
                yield chunk
