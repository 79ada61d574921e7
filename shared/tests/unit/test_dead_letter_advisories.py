"""Reading JetStream's advisories into dead letters, and which advisories the durable stream keeps."""

from __future__ import annotations

import json

import pytest

from clientpulse.shared.contracts import Stream
from clientpulse.shared.messaging.dead_letters import (
    DeadLetterAdvisory,
    advisory_stream_subjects,
    advisory_subject,
    parse_advisory,
)

MAX_DELIVERIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.BILLING.tiering-invoice-posted"
TERMINATED = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.CRM.clients-deal-won"


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("subject", "data", "expected"),
    [
        (
            MAX_DELIVERIES,
            body(
                type="io.nats.jetstream.advisory.v1.max_deliver",
                stream="BILLING",
                consumer="tiering-invoice-posted",
                stream_seq=42,
                deliveries=6,
            ),
            DeadLetterAdvisory("max_deliveries", "BILLING", "tiering-invoice-posted", 42, 6),
        ),
        (
            TERMINATED,
            body(
                type="io.nats.jetstream.advisory.v1.terminated",
                stream="CRM",
                consumer="clients-deal-won",
                consumer_seq=3,
                stream_seq=1,
                deliveries=1,
                reason="",
            ),
            DeadLetterAdvisory("terminated", "CRM", "clients-deal-won", 1, 1),
        ),
        # Names missing from the body come from the subject; an unknown delivery count stays unknown.
        (TERMINATED, body(stream_seq=9), DeadLetterAdvisory("terminated", "CRM", "clients-deal-won", 9, None)),
    ],
)
def test_an_advisory_names_the_dead_letter(subject: str, data: bytes, expected: DeadLetterAdvisory) -> None:
    assert parse_advisory(subject, data) == expected


@pytest.mark.parametrize(
    ("subject", "data"),
    [
        ("$JS.EVENT.ADVISORY.CONSUMER.CREATED.CRM.clients-deal-won", body(stream_seq=1)),
        ("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.CRM", body(stream_seq=1)),
        ("crm.v1.deal.won", body(stream_seq=1)),
        (TERMINATED, b"not json"),
        (TERMINATED, b"[1, 2]"),
        (TERMINATED, body(stream="CRM", consumer="clients-deal-won")),
        (TERMINATED, body(stream_seq="seven")),
        (TERMINATED, body(stream_seq=0)),
    ],
)
def test_what_names_no_dead_letter_is_refused(subject: str, data: bytes) -> None:
    with pytest.raises(ValueError, match="advisory"):
        parse_advisory(subject, data)


def test_the_stream_keeps_both_advisories_of_every_project_stream_and_nothing_else() -> None:
    subjects = advisory_stream_subjects(stream.value for stream in Stream)

    assert len(subjects) == 2 * len(Stream)
    for stream in Stream:
        assert f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream.value}.>" in subjects
        assert f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream.value}.>" in subjects


def test_a_consumer_advisory_subject_parses_back() -> None:
    subject = advisory_subject("MAX_DELIVERIES", "BILLING", "tiering-invoice-posted")

    assert subject == MAX_DELIVERIES
    assert parse_advisory(subject, body(stream_seq=5)).consumer == "tiering-invoice-posted"
