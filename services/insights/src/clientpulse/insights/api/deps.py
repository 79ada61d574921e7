"""What the insights routes use besides the database: the services they read and who writes."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import NamedDependency

from clientpulse.insights.chat import ChatModel
from clientpulse.insights.creative_review import CreativeReviewer
from clientpulse.insights.llm import SummaryWriter
from clientpulse.insights.relationship_api import RelationshipApi
from clientpulse.insights.results_api import ResultsApi


@dataclass(frozen=True, slots=True)
class InsightsWiring:
    """The adapters of the insights routes; ``chat`` is None when no model is configured."""

    relationship: RelationshipApi
    results: ResultsApi
    summaries: SummaryWriter
    chat: ChatModel | None
    ask_max_tool_rounds: int
    creatives: CreativeReviewer


Wiring = NamedDependency[InsightsWiring]
