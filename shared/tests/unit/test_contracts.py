"""The event catalogue: naming, versioning, lenient decoding and strict encoding."""

import re
from datetime import date

import pytest
from pydantic import ValidationError

from clientpulse.shared import asyncapi
from clientpulse.shared.contracts import CATALOGUE, EVENTS_BY_SUBJECT, EnvelopeHeader, derived_event_id, wrap
from clientpulse.shared.contracts.envelope import STREAM_CONTEXT
from clientpulse.shared.contracts.events import InvoicePosted, RecalculationRequested, TierChanged

SUBJECT = re.compile(r"^(?P<context>[a-z]+)\.v(?P<version>\d+)\.[a-z_]+\.[a-z_]+$")

DESIGN_CATALOGUE = {
    "InvoicePosted", "DealWon", "ClientCreated", "ClientUpdated", "ClientStatusChanged", "ClientAssigned",
    "ClientGroupChanged", "HealthScoreRecorded", "QbrLogged", "QbrOverdue", "ScoreRecorded", "TierChanged",
    "RecalculationRequested", "RecalculationCompleted", "BackfillRequested", "BackfillCompleted",
    "BackfillFailed", "SyncCompleted", "AnalysisGenerated", "SummaryGenerated",
}  # fmt: skip


def test_every_event_of_the_design_catalogue_has_a_contract() -> None:
    assert {event.event_type for event in CATALOGUE} >= DESIGN_CATALOGUE


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.event_type)
def test_subject_is_versioned_and_in_its_contexts_stream(event: type) -> None:
    match = SUBJECT.match(event.subject)
    assert match, event.subject
    assert int(match["version"]) == event.version
    assert STREAM_CONTEXT[event.stream] == match["context"]


def test_subjects_are_unique() -> None:
    assert len(EVENTS_BY_SUBJECT) == len(CATALOGUE)


def invoice(**extra: object) -> InvoicePosted:
    return InvoicePosted(
        invoice_id="inv-1", client_id="c-1", issued_on=date(2026, 3, 1), amount_minor=-1250, currency="EUR", **extra
    )


def test_encoding_is_strict_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        invoice(discount=3)


def test_decoding_is_lenient_fields_from_a_newer_producer_are_ignored() -> None:
    envelope = wrap(invoice(), source="billing")
    header = EnvelopeHeader.model_validate_json(envelope.to_json())
    decoded = InvoicePosted.decode({**header.data, "added_in_a_later_minor_version": True})
    assert decoded == envelope.data


def test_envelope_carries_cloudevents_attributes_and_the_client_as_subject() -> None:
    envelope = wrap(invoice(), source="billing")
    header = EnvelopeHeader.model_validate_json(envelope.to_json())
    assert header.specversion == "1.0"
    assert header.type == "clientpulse.billing.v1.invoice.posted"
    assert header.source == "/clientpulse/billing"
    assert header.subject == "c-1"
    assert header.time.tzinfo is not None
    assert header.data["amount_minor"] == -1250


def test_event_ids_are_time_ordered_uuid7() -> None:
    first, second = wrap(invoice(), source="b").id, wrap(invoice(), source="b").id
    assert first[14] == "7"  # the UUID version nibble
    assert first < second


def test_a_derived_id_is_the_same_for_the_same_period() -> None:
    assert derived_event_id("recalculation:2026-12") == derived_event_id("recalculation:2026-12")
    assert derived_event_id("recalculation:2026-12") != derived_event_id("recalculation:2027-01")


def test_decimal_scores_travel_as_exact_strings() -> None:
    from decimal import Decimal

    changed = TierChanged(
        client_id="c", old_tier=None, new_tier="Core", old_score=None, new_score=Decimal("3.95"), cause="score_now"
    )
    assert '"new_score":"3.95"' in wrap(changed, source="tiering").to_json().decode()


def test_a_recalculation_period_must_be_a_month() -> None:
    with pytest.raises(ValidationError):
        RecalculationRequested(period="2026-13", requested_by="cron")


def test_the_committed_asyncapi_document_is_current() -> None:
    assert asyncapi.COMMITTED.read_text() == asyncapi.render(), "run `make asyncapi`"
