"""Any OpenAI-compatible chat completions endpoint (Workers AI, Ollama, vLLM…): one call with its timeout,
its retries on 429 and 5xx, its spending cap and its metrics.

A call is ``POST {base}/chat/completions``. A 429 or a 5xx is retried while the call's deadline allows,
waiting what ``Retry-After`` names (or a growing pause); any other failure ends the call. Before a call the
client's and the day's token spending are checked against their caps; after it the tokens the reply reports
are added. The API key is sent only in the ``Authorization`` header and never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from clientpulse.insights import metrics

_log = logging.getLogger("clientpulse.insights.chat")
_RETRIED = frozenset({429, 500, 502, 503, 504})


class ModelUnavailable(Exception):
    """The model gave no reply: ``reason`` is timeout, http_error, rate_limited or over_budget."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class SpendingLedger(Protocol):
    """The tokens spent per client and UTC day, and the caps they must stay under."""

    async def over_cap(self, client_id: str) -> str | None:
        """``client`` or ``total`` when that day's cap is reached; None otherwise."""
        ...

    async def spend(self, client_id: str, tokens: int) -> None:
        """Add what a reply cost."""
        ...


@dataclass(frozen=True, slots=True)
class ChatReply:
    """The assistant's message (content and any tool calls) and the tokens it cost."""

    message: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def content(self) -> str | None:
        """The message's text, if any."""
        content = self.message.get("content")
        return content if isinstance(content, str) else None

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls the model asked for (empty when it answered)."""
        calls = self.message.get("tool_calls")
        return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """One request's timeout, the whole call's deadline and the retries within it."""

    timeout: float = 15.0
    deadline: float = 18.0
    max_attempts: int = 3
    retry_wait: float = 1.0


class ChatModel:
    """One configured model behind an OpenAI-compatible endpoint."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str,
        http: httpx.AsyncClient,
        ledger: SpendingLedger,
        limits: ChatLimits = ChatLimits(),
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self._http = http
        self._ledger = ledger
        self.limits = limits

    async def complete(self, body: dict[str, Any], *, client_id: str, purpose: str) -> ChatReply:
        """The reply to one request body (``model`` is set here); ``ModelUnavailable`` when there is none."""
        capped = await self._ledger.over_cap(client_id)
        if capped is not None:
            metrics.LLM_REQUESTS.labels("over_budget").inc()
            raise ModelUnavailable("over_budget", f"the {capped} daily token cap of the model is reached")
        started = time.perf_counter()
        try:
            payload = await self._post_with_retries({**body, "model": self.model}, started, purpose)
        finally:
            metrics.LLM_REQUEST_SECONDS.observe(time.perf_counter() - started)
        reply = _reply(payload)
        metrics.LLM_TOKENS.labels("prompt").inc(reply.prompt_tokens)
        metrics.LLM_TOKENS.labels("completion").inc(reply.completion_tokens)
        await self._ledger.spend(client_id, reply.prompt_tokens + reply.completion_tokens)
        return reply

    async def _post_with_retries(self, body: dict[str, Any], started: float, purpose: str) -> Any:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        attempt = 0
        while True:
            attempt += 1
            left = self.limits.deadline - (time.perf_counter() - started)
            try:
                response = await self._http.post(
                    self.url, json=body, headers=headers, timeout=max(0.1, min(self.limits.timeout, left))
                )
            except httpx.TimeoutException as exc:
                raise self._unavailable("timeout", f"no reply within {self.limits.timeout:g}s", purpose) from exc
            except httpx.HTTPError as exc:
                raise self._unavailable("http_error", f"{exc.__class__.__name__}: {exc}", purpose) from exc
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError as exc:
                    raise self._unavailable("http_error", "the reply is not JSON", purpose) from exc
            reason = "rate_limited" if response.status_code == 429 else "http_error"
            wait = _retry_wait(response, self.limits.retry_wait * attempt)
            elapsed = time.perf_counter() - started
            if (
                response.status_code not in _RETRIED
                or attempt >= self.limits.max_attempts
                or elapsed + wait + 0.1 >= self.limits.deadline
            ):
                raise self._unavailable(reason, f"answered {response.status_code} (attempt {attempt})", purpose)
            metrics.LLM_RETRIES.labels(reason).inc()
            await asyncio.sleep(wait)

    def _unavailable(self, reason: str, detail: str, purpose: str) -> ModelUnavailable:
        metrics.LLM_REQUESTS.labels(reason).inc()
        _log.warning("the model at %s gave no reply for a %s (%s: %s)", self.url, purpose, reason, detail)
        return ModelUnavailable(reason, detail)


def _retry_wait(response: httpx.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def _reply(payload: Any) -> ChatReply:
    try:
        message = payload["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        message = {}
    usage = payload.get("usage") if isinstance(payload, dict) else None
    usage = usage if isinstance(usage, dict) else {}

    def tokens(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and value > 0 else 0

    return ChatReply(message if isinstance(message, dict) else {}, tokens("prompt_tokens"), tokens("completion_tokens"))
