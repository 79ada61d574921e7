"""Answering a question: the model calls the service's tools (each read with the caller's identity, each bound to
the request's client) until it answers; the answer is checked against the tool results.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from clientpulse.insights.chat import ChatModel, ModelUnavailable
from clientpulse.insights.domain.questions import (
    QUESTION_SYSTEM_PROMPT,
    TOOLS,
    AnswerVerdict,
    MetricsArgs,
    RangeArgs,
    ToolArgumentError,
    ToolResult,
    check_answer,
    parse_tool_call,
)
from clientpulse.insights.relationship_api import RecordsUnavailable, RelationshipApi
from clientpulse.insights.results_api import ResultsApi, ResultsUnavailable
from clientpulse.shared.errors import NotFound
from clientpulse.shared.identity import Identity

_log = logging.getLogger("clientpulse.insights.asking")
_CAMPAIGN_FIELDS = (
    "campaign_id", "campaign_name", "platform", "status", "currency", "spend_minor", "revenue_minor",
    "conversions", "roas", "cpa_minor", "ctr", "seven_day_frequency",
)  # fmt: skip
_METRIC_FIELDS = ("metric", "unit", "currency", "current", "previous", "delta")
_GOAL_FIELDS = ("id", "name", "target", "current", "unit", "status", "period_start", "period_end", "metric", "closed")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of a question: an answer, a refusal, or no reply (``reason`` says which rule or failure)."""

    outcome: str
    answer: str | None
    cited: list[ToolResult]
    calls: list[ToolResult]
    reason: str = ""
    detail: str = ""


class ClientTools:
    """The tools of one question: one client, the caller's identity."""

    def __init__(self, client_id: str, identity: Identity, results: ResultsApi, relationship: RelationshipApi) -> None:
        self.client_id = client_id
        self.identity = identity
        self.results = results
        self.relationship = relationship

    async def run(self, name: str, args: BaseModel) -> dict[str, Any]:
        """A tool's result as the model sees it (a read that fails is an ``error`` result, not a failure)."""
        try:
            if isinstance(args, MetricsArgs):
                return await self._metrics(args)
            if isinstance(args, RangeArgs):
                return await self._campaigns(args)
            return await self._goals()
        except (ResultsUnavailable, RecordsUnavailable, NotFound) as exc:
            return {"error": str(exc)}

    async def _metrics(self, args: MetricsArgs) -> dict[str, Any]:
        params = {k: str(v) for k, v in args.model_dump(exclude_none=True).items()}
        body = await self.results.read(f"/api/v1/clients/{self.client_id}/results/metrics", params, self.identity)
        metrics = [
            {"category": group.get("category"), **{k: m.get(k) for k in _METRIC_FIELDS}}
            for group in body.get("categories", [])
            for m in group.get("metrics", [])
        ]
        window = {k: body.get(k) for k in ("start", "end", "previous_start", "previous_end")}
        return {**window, "metrics": metrics}

    async def _campaigns(self, args: RangeArgs) -> dict[str, Any]:
        params = {"start": args.start.isoformat(), "end": args.end.isoformat(), "sort": "spend", "order": "desc"}
        body = await self.results.read(f"/api/v1/clients/{self.client_id}/results/campaigns", params, self.identity)
        rows = [{k: row.get(k) for k in _CAMPAIGN_FIELDS} for row in body.get("items", [])]
        return {"start": params["start"], "end": params["end"], "campaigns": rows}

    async def _goals(self) -> dict[str, Any]:
        goals = await self.relationship.goals(self.client_id, self.identity)
        return {"goals": [{k: g.get(k) for k in _GOAL_FIELDS} for g in goals]}


async def answer_question(chat: ChatModel, tools: ClientTools, question: str, *, max_rounds: int) -> Outcome:
    """Let the model call tools until it answers (at most ``max_rounds`` rounds), then check the answer."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": QUESTION_SYSTEM_PROMPT},
        {"role": "user", "content": json.dumps({"question": question}, ensure_ascii=False)},
    ]
    calls: list[ToolResult] = []
    for _round in range(max_rounds):
        body = {"messages": messages, "tools": TOOLS, "tool_choice": "auto", "temperature": 0.1}
        try:
            reply = await chat.complete(body, client_id=tools.client_id, purpose="question")
        except ModelUnavailable as exc:
            return Outcome("unavailable", None, [], calls, exc.reason, exc.detail)
        if not reply.tool_calls:
            verdict = check_answer(reply.content or "", calls)
            return _outcome(verdict, calls)
        messages.append({"role": "assistant", "content": reply.content or "", "tool_calls": reply.tool_calls})
        for call in reply.tool_calls:
            result = await _run_call(tools, call, len(calls) + 1)
            calls.append(result)
            messages.append({"role": "tool", "tool_call_id": result.call_id, "content": json.dumps(result.result)})
    return Outcome("refused", None, [], calls, "too_many_rounds", f"no answer after {max_rounds} rounds of tool calls")


async def _run_call(tools: ClientTools, call: dict[str, Any], number: int) -> ToolResult:
    found = call.get("function")
    function: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(function.get("name", ""))
    raw_arguments = function.get("arguments")
    arguments = raw_arguments if isinstance(raw_arguments, str) else json.dumps(raw_arguments or {})
    call_id = str(call.get("id") or f"call-{number}")
    try:
        parsed = parse_tool_call(name, arguments)
    except ToolArgumentError as exc:
        return ToolResult(call_id, name, {"raw": arguments[:500]}, {"error": str(exc)})
    result = await tools.run(name, parsed)
    return ToolResult(call_id, name, parsed.model_dump(mode="json", exclude_none=True), result)


def _outcome(verdict: AnswerVerdict, calls: list[ToolResult]) -> Outcome:
    if verdict.answer is None:
        return Outcome("refused", None, verdict.cited, calls, verdict.reason, verdict.detail)
    return Outcome("answered", verdict.answer, verdict.cited, calls)
