"""Who writes an analysis' prose: the deterministic analyzer, or any OpenAI-compatible model when configured.

The model is asked ``POST {base}/chat/completions`` with a JSON reply requested. Whatever goes wrong
(timeout, HTTP error, a reply that fails validation) the deterministic prose stands and the reason is
counted; the API key is sent only in the ``Authorization`` header and never logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import httpx

from clientpulse.insights import metrics
from clientpulse.insights.domain.analysis import WeeklyAnalysis
from clientpulse.insights.domain.prose import apply_prose, prompt_messages, validate_reply, with_fallback

_log = logging.getLogger("clientpulse.insights.llm")


class ProseWriter(Protocol):
    """Turns a deterministic analysis into the one that is stored."""

    async def write(self, analysis: WeeklyAnalysis) -> WeeklyAnalysis:
        """The analysis with its final prose."""
        ...


class DeterministicProse:
    """The embedded default: the analyzer's own prose."""

    async def write(self, analysis: WeeklyAnalysis) -> WeeklyAnalysis:
        """The analysis unchanged."""
        return analysis


class ModelProse:
    """An OpenAI-compatible chat completions endpoint writes the summary and the reasonings."""

    def __init__(self, base_url: str, *, model: str, api_key: str, timeout: float, http: httpx.AsyncClient) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self._timeout = timeout
        self._http = http

    def request_body(self, analysis: WeeklyAnalysis) -> dict[str, Any]:
        """The chat completion request for one analysis."""
        return {
            "model": self.model,
            "messages": prompt_messages(analysis),
            "response_format": {"type": "json_object"},
            "temperature": 0.2,
        }

    async def write(self, analysis: WeeklyAnalysis) -> WeeklyAnalysis:
        """The model's prose when its reply passes validation; the deterministic prose otherwise."""
        log_extra = {"client_id": analysis.client_id, "week": analysis.week}
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        started = time.perf_counter()
        try:
            response = await self._http.post(
                self.url, json=self.request_body(analysis), headers=headers, timeout=self._timeout
            )
            response.raise_for_status()
            payload = response.json()
        except httpx.TimeoutException:
            return self._fallback(analysis, "timeout", "timeout", f"no reply within {self._timeout}s", log_extra)
        except httpx.HTTPStatusError as exc:
            detail = f"answered {exc.response.status_code}"
            return self._fallback(analysis, "http_error", "http_error", detail, log_extra)
        except (httpx.HTTPError, ValueError) as exc:
            detail = f"{exc.__class__.__name__}: {exc}"
            return self._fallback(analysis, "http_error", "http_error", detail, log_extra)
        finally:
            metrics.LLM_REQUEST_SECONDS.observe(time.perf_counter() - started)
        self._count_tokens(payload)
        content = _content(payload)
        if content is None:
            return self._fallback(
                analysis, "invalid_output", "schema_mismatch", "the reply has no message content", log_extra
            )
        verdict = validate_reply(content, analysis)
        if verdict.reply is None:
            reason = verdict.reason.value if verdict.reason else "schema_mismatch"
            return self._fallback(analysis, "invalid_output", reason, verdict.detail, log_extra)
        metrics.LLM_REQUESTS.labels("ok").inc()
        return apply_prose(analysis, verdict.reply, self.model)

    def _fallback(
        self, analysis: WeeklyAnalysis, outcome: str, reason: str, detail: str, log_extra: dict[str, Any]
    ) -> WeeklyAnalysis:
        metrics.LLM_REQUESTS.labels(outcome).inc()
        metrics.LLM_FALLBACKS.labels(reason).inc()
        _log.warning(
            "the model at %s gave no usable prose (%s: %s); the deterministic analysis stands",
            self.url,
            reason,
            detail,
            extra=log_extra,
        )
        return with_fallback(analysis, reason)

    @staticmethod
    def _count_tokens(payload: Any) -> None:
        usage = payload.get("usage") if isinstance(payload, dict) else None
        if not isinstance(usage, dict):
            return
        for kind, key in (("prompt", "prompt_tokens"), ("completion", "completion_tokens")):
            value = usage.get(key)
            if isinstance(value, int) and value > 0:
                metrics.LLM_TOKENS.labels(kind).inc(value)


def _content(payload: Any) -> str | None:
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None
