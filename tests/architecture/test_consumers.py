"""Every consumer of every service has one typed handler per event type it subscribes, so an event
type added to a consumer without its handler cannot be acknowledged and silently dropped."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, get_type_hints

import pytest
from litestar import Litestar

from clientpulse.shared.contracts import EventData
from clientpulse.shared.messaging import EventBus
from clientpulse.shared.messaging.broker import ConsumerSpec

SERVICES = ("clients", "tiering", "results_ingest", "insights", "notifications")


def _bus(service: str) -> EventBus:
    app: Litestar = importlib.import_module(f"clientpulse.{service}.app").create_app()
    return app.state["runtime"].bus  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES)
def test_each_subscribed_type_has_its_own_handler(service: str) -> None:
    bus = _bus(service)
    assert bus.consumers, f"{service} subscribes nothing"
    for spec in bus.consumers:
        assert spec.events and set(spec.handlers) == set(spec.events)
        for event, (routed, handler) in zip(spec.events, spec.by_subject.values(), strict=True):
            assert routed is event and callable(handler)
            hinted = _envelope_type(handler)
            # A handler typed for one event must be registered for that event (not for another one).
            assert hinted in (None, Any, event), f"{spec.durable}: {handler.__name__} handles {hinted}, not {event}"


def _envelope_type(handler: Any) -> Any:
    try:
        hints = get_type_hints(handler)
    except Exception:
        return None
    first = next(iter(inspect.signature(handler).parameters), None)
    annotation = hints.get(first) if first else None
    arguments = getattr(annotation, "__args__", None) or getattr(annotation, "__pydantic_generic_metadata__", {}).get(
        "args"
    )
    return arguments[0] if arguments else None


def test_one_handler_cannot_be_subscribed_to_several_types_at_once() -> None:
    with pytest.raises(TypeError):
        EventBus.consumer(object(), EventData, EventData, name="x")  # type: ignore[arg-type, call-arg]


def test_a_consumer_without_handlers_or_across_streams_is_refused() -> None:
    from clientpulse.shared.contracts.events import DealWon, TierChanged

    async def handler(envelope: Any, session: Any) -> None:
        return None

    with pytest.raises(ValueError, match="no event type"):
        ConsumerSpec("x", {})
    with pytest.raises(ValueError, match="mixes streams"):
        ConsumerSpec("x", {DealWon: handler, TierChanged: handler})
