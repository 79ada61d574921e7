"""Who writes creative insights: the deterministic review, or the configured model when its reply keeps to
the facts. Whatever goes wrong with the model (no reply, the spending cap, a refused reply) the
deterministic observations and suggestions stand, marked with the reason."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from clientpulse.insights import metrics
from clientpulse.insights.chat import ChatModel, ModelUnavailable
from clientpulse.insights.domain.ad_copy import (
    DEFAULT_RULES,
    AdResult,
    CreativeRules,
    ad_facts,
    creative_facts,
    merge_halves,
)
from clientpulse.insights.domain.ad_copy_review import (
    DETERMINISTIC,
    CreativeInsights,
    check_review,
    deterministic_review,
    review_facts,
    review_prompt,
)

_log = logging.getLogger("clientpulse.insights.creatives")


class CreativeReviewer:
    """Creative insights of one client's ads over a period; ``chat`` is None without a configured model."""

    def __init__(self, chat: ChatModel | None, rules: CreativeRules = DEFAULT_RULES) -> None:
        self.chat = chat
        self.rules = rules

    async def review(
        self, client_id: str, start: date, end: date, first: Sequence[AdResult], second: Sequence[AdResult]
    ) -> CreativeInsights:
        """The facts of the two halves' ads, with the model's observations when they pass, else the deterministic."""
        ads = ad_facts(merge_halves(first, second), self.rules)
        facts = creative_facts(ads, self.rules)
        observations, suggestions = deterministic_review(facts)
        insights = CreativeInsights(
            client_id=client_id, start=start, end=end, ads=ads, facts=facts, observations=observations,
            suggestions=suggestions, rules=self.rules, generated_by=DETERMINISTIC, deterministic=True,
        )  # fmt: skip
        if self.chat is None or not ads:
            metrics.CREATIVE_INSIGHTS.labels("deterministic").inc()
            return insights
        document = review_facts(client_id, start, end, ads, facts)
        body = {"messages": review_prompt(document), "response_format": {"type": "json_object"}, "temperature": 0.2}
        try:
            reply = await self.chat.complete(body, client_id=client_id, purpose="creative insights")
        except ModelUnavailable as exc:
            return self._fallback(insights, exc.reason, exc.detail)
        checked, reason, detail = check_review(reply.content or "", document)
        if checked is None:
            metrics.LLM_REQUESTS.labels("invalid_output").inc()
            return self._fallback(insights, reason, detail)
        metrics.LLM_REQUESTS.labels("ok").inc()
        metrics.CREATIVE_INSIGHTS.labels("model").inc()
        return insights.model_copy(
            update={
                "observations": checked.observations,
                "suggestions": checked.suggestions,
                "generated_by": self.chat.model,
                "deterministic": False,
            }
        )

    def _fallback(self, insights: CreativeInsights, reason: str, detail: str) -> CreativeInsights:
        metrics.CREATIVE_INSIGHTS.labels("fallback").inc()
        _log.warning(
            "the model gave no usable creative insights for client %s (%s: %s); the deterministic ones stand",
            insights.client_id,
            reason,
            detail,
        )
        return insights.model_copy(update={"fallback_reason": reason})
