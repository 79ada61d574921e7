"""Metrics of the weekly analysis and the model that may write its prose, exported by the service's process.

The CronJob only publishes WeeklyAnalysisRequested and exits; the analyses are written by this
service's consumers, so that is where they are counted. Analysis outcomes count once their unit of
work has committed (a rolled-back attempt counts as ``failed`` and is redelivered). Model requests
count as they happen. Every label value is created at import, so each series shows in a scrape
before its first increment. The model's name is never a label value (``model`` vs ``deterministic``).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.db import when_unit_ends

LLM_OUTCOMES = ("ok", "invalid_output", "http_error", "timeout", "rate_limited", "over_budget")
RETRY_REASONS = ("rate_limited", "http_error")
SUMMARY_OUTCOMES = ("deterministic", "model", "fallback")
QUESTION_OUTCOMES = ("answered", "refused", "unavailable")
TOKEN_KINDS = ("prompt", "completion")
GENERATED_BY = ("deterministic", "model")
FALLBACK_REASONS = ("invalid_json", "schema_mismatch", "unknown_id", "changed_number", "http_error", "timeout")
CLIENT_OUTCOMES = ("written", "already_written", "not_eligible", "no_activity", "failed")

LLM_REQUESTS = Counter(
    "clientpulse_llm_requests_total",
    "Requests to the configured OpenAI-compatible model, by outcome: ok (a valid reply), invalid_output (the reply "
    "was refused: not JSON, off the schema, unknown ids or changed numbers), http_error, timeout, rate_limited "
    "(429 after every retry), over_budget (a daily token cap was reached; nothing was sent)",
    ["outcome"],
)
LLM_RETRIES = Counter(
    "clientpulse_llm_retries_total",
    "Requests to the model sent again after a 429 (rate_limited) or a 5xx (http_error)",
    ["reason"],
)
SUMMARIES = Counter(
    "clientpulse_insights_summaries_total",
    "Relationship summaries written, by who wrote them: deterministic (no model configured), model, fallback "
    "(a model was asked but its reply was refused or did not come)",
    ["generated_by"],
)
QUESTIONS = Counter(
    "clientpulse_insights_questions_total",
    "Questions asked, by outcome: answered, refused (the answer broke a rule: a number no tool returned, an "
    "unknown citation, not JSON), unavailable (no reply: timeout, 429, 5xx, the spending cap)",
    ["outcome"],
)
LLM_TOKENS = Counter(
    "clientpulse_llm_tokens_total",
    "Tokens the model reported in its replies' usage, by kind: prompt, completion",
    ["kind"],
)
LLM_REQUEST_SECONDS = Histogram(
    "clientpulse_llm_request_seconds",
    "Time from sending a request to the model to having its whole reply (or giving up)",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
LLM_FALLBACKS = Counter(
    "clientpulse_llm_fallbacks_total",
    "Analyses whose prose the model was asked for but the deterministic analyzer's prose was kept, by reason: "
    "invalid_json, schema_mismatch, unknown_id, changed_number, http_error, timeout",
    ["reason"],
)
ANALYSES = Counter(
    "clientpulse_insights_analyses_total",
    "Weekly analyses written (committed with their AnalysisGenerated), by who wrote the prose: deterministic "
    "(the analyzer) or model",
    ["generated_by"],
)
CLIENT_ANALYSES = Counter(
    "clientpulse_insights_client_analyses_total",
    "Per-client analysis requests handled, by outcome: written, already_written (the week was analysed before), "
    "not_eligible (not an Active client), no_activity (nothing spent in the week), failed (rolled back; "
    "JetStream redelivers it)",
    ["outcome"],
)
CREATIVE_INSIGHTS = Counter(
    "clientpulse_insights_creative_insights_total",
    "Creative insights served, by who wrote the observations: deterministic (no model configured), model, "
    "fallback (a model was asked but its reply was refused or did not come)",
    ["generated_by"],
)
CLIENTS_REQUESTED = Counter(
    "clientpulse_insights_clients_requested_total",
    "Clients a weekly analysis request handed out for analysis (Active, with results, not yet analysed)",
)

for _outcome in LLM_OUTCOMES:
    LLM_REQUESTS.labels(_outcome)
for _retry in RETRY_REASONS:
    LLM_RETRIES.labels(_retry)
for _summary in SUMMARY_OUTCOMES:
    SUMMARIES.labels(_summary)
for _question in QUESTION_OUTCOMES:
    QUESTIONS.labels(_question)
for _kind in TOKEN_KINDS:
    LLM_TOKENS.labels(_kind)
for _generated_by in GENERATED_BY:
    ANALYSES.labels(_generated_by)
for _reason in FALLBACK_REASONS:
    LLM_FALLBACKS.labels(_reason)
for _creative in SUMMARY_OUTCOMES:
    CREATIVE_INSIGHTS.labels(_creative)
for _client_outcome in CLIENT_OUTCOMES:
    CLIENT_ANALYSES.labels(_client_outcome)


class ClientAnalysisObservation:
    """Counts one per-client analysis when its unit of work ends: its outcome on commit, ``failed`` on rollback."""

    def __init__(self, session: AsyncSession) -> None:
        self.outcome: str | None = None
        self.generated_by: str | None = None
        when_unit_ends(session, committed=self._committed, rolled_back=self._rolled_back)

    def finished(self, outcome: str, generated_by: str | None = None) -> None:
        """What the handler did; ``generated_by`` (``deterministic`` or ``model``) when it wrote an analysis."""
        self.outcome, self.generated_by = outcome, generated_by

    def _committed(self) -> None:
        if self.outcome is None:
            return
        CLIENT_ANALYSES.labels(self.outcome).inc()
        if self.generated_by is not None:
            ANALYSES.labels(self.generated_by).inc()

    def _rolled_back(self) -> None:
        CLIENT_ANALYSES.labels("failed").inc()
