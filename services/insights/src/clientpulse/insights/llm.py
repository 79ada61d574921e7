"""Who writes an analysis' prose: the deterministic analyzer, or any OpenAI-compatible model when configured.

The model is asked through ``ChatModel`` with a JSON reply requested. Whatever goes wrong (timeout, HTTP
error, the spending cap, a reply that fails validation) the deterministic prose stands and the reason is
counted.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Protocol

from clientpulse.insights import metrics
from clientpulse.insights.chat import ChatModel, ModelUnavailable
from clientpulse.insights.domain.analysis import WeeklyAnalysis
from clientpulse.insights.domain.prose import apply_prose, prompt_messages, validate_reply, with_fallback
from clientpulse.insights.domain.relationship import RelationshipRecords
from clientpulse.insights.domain.summary import (
    RelationshipSummary,
    check_model_summary,
    deterministic_summary,
    model_summary,
    summary_prompt,
)

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

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat
        self.model = chat.model

    @staticmethod
    def request_body(analysis: WeeklyAnalysis) -> dict[str, Any]:
        """The chat completion request for one analysis (the model is named by the chat client)."""
        return {
            "messages": prompt_messages(analysis),
            "response_format": {"type": "json_object"},
            "temperature": 0.2,
        }

    async def write(self, analysis: WeeklyAnalysis) -> WeeklyAnalysis:
        """The model's prose when its reply passes validation; the deterministic prose otherwise."""
        log_extra = {"client_id": analysis.client_id, "week": analysis.week}
        try:
            reply = await self.chat.complete(
                self.request_body(analysis), client_id=analysis.client_id, purpose="analysis"
            )
        except ModelUnavailable as exc:
            reason = "timeout" if exc.reason == "timeout" else "http_error"
            return self._fallback(analysis, reason, exc.detail, log_extra)
        if reply.content is None:
            metrics.LLM_REQUESTS.labels("invalid_output").inc()
            return self._fallback(analysis, "schema_mismatch", "the reply has no message content", log_extra)
        verdict = validate_reply(reply.content, analysis)
        if verdict.reply is None:
            metrics.LLM_REQUESTS.labels("invalid_output").inc()
            reason = verdict.reason.value if verdict.reason else "schema_mismatch"
            return self._fallback(analysis, reason, verdict.detail, log_extra)
        metrics.LLM_REQUESTS.labels("ok").inc()
        return apply_prose(analysis, verdict.reply, self.model)

    def _fallback(
        self, analysis: WeeklyAnalysis, reason: str, detail: str, log_extra: dict[str, Any]
    ) -> WeeklyAnalysis:
        metrics.LLM_FALLBACKS.labels(reason).inc()
        _log.warning(
            "the model at %s gave no usable prose (%s: %s); the deterministic analysis stands",
            self.chat.url,
            reason,
            detail,
            extra=log_extra,
        )
        return with_fallback(analysis, reason)


class SummaryWriter(Protocol):
    """Writes a relationship summary from a client's records."""

    async def write(
        self, records: RelationshipRecords, *, as_of: datetime, today: date, triggers: list[str]
    ) -> RelationshipSummary:
        """The summary to store."""
        ...


class DeterministicSummaries:
    """The embedded default: the templated summary."""

    async def write(
        self, records: RelationshipRecords, *, as_of: datetime, today: date, triggers: list[str]
    ) -> RelationshipSummary:
        """The deterministic summary of the records."""
        return deterministic_summary(records, as_of=as_of, today=today, triggers=triggers)


class ModelSummaries:
    """The configured model writes the statements; the templated summary stands when its reply is refused."""

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat

    async def write(
        self, records: RelationshipRecords, *, as_of: datetime, today: date, triggers: list[str]
    ) -> RelationshipSummary:
        """The model's summary when it keeps to the records; the deterministic one otherwise."""
        fallback = deterministic_summary(records, as_of=as_of, today=today, triggers=triggers)
        body = {"messages": summary_prompt(records), "response_format": {"type": "json_object"}, "temperature": 0.2}
        try:
            reply = await self.chat.complete(body, client_id=records.client.id, purpose="summary")
        except ModelUnavailable as exc:
            return self._fallback(fallback, exc.reason, exc.detail)
        checked, reason, detail = check_model_summary(reply.content or "", records)
        if checked is None:
            metrics.LLM_REQUESTS.labels("invalid_output").inc()
            return self._fallback(fallback, reason, detail)
        metrics.LLM_REQUESTS.labels("ok").inc()
        return model_summary(checked, self.chat.model, as_of=as_of, client_id=records.client.id, triggers=triggers)

    def _fallback(self, summary: RelationshipSummary, reason: str, detail: str) -> RelationshipSummary:
        _log.warning(
            "the model at %s gave no usable summary of client %s (%s: %s); the deterministic summary stands",
            self.chat.url,
            summary.client_id,
            reason,
            detail,
        )
        return summary.model_copy(update={"fallback_reason": reason})
