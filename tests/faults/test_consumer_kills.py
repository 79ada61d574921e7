"""The tiering service SIGKILLed three times while it consumes InvoicePosted, some of them published
twice by a retrying producer: its ledger ends up with every distinct invoice exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from invoice_ledger import invoice, tally, tiering_service, wait_for_ledger

from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging.direct import publish_envelopes

pytestmark = pytest.mark.integration

INVOICES = 10_000
# Every tenth invoice is published a second time, as a producer retrying after a lost ack would.
RETRIED_EVERY = 10
KILLS = 3


async def publish_paced(nats_url: str, envelopes: list, chunks: int = 100, pause: float = 0.05) -> list[bool]:
    """Publish in ``chunks`` parts with a pause between them; which of them the stream found duplicate."""
    size = max(1, len(envelopes) // chunks)
    duplicates: list[bool] = []
    for start in range(0, len(envelopes), size):
        duplicates += await publish_envelopes(nats_url, envelopes[start : start + size])
        await asyncio.sleep(pause)
    return duplicates


@pytest.fixture
def tiering(postgres_admin_url: str, own_nats: NatsServerProcess, tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    """Only the tiering service, as a process on its own PostgreSQL database and its own NATS."""
    with tiering_service(postgres_admin_url, own_nats.url, tmp_path / "stack") as service:
        yield service


def test_sigkilled_consumer_applies_every_invoice_once(
    tiering: tuple[Stack, str], fault_figures: Callable[..., None]
) -> None:
    stack, database_url = tiering
    envelopes = [invoice(n) for n in range(INVOICES)]
    retried = envelopes[::RETRIED_EVERY]
    sent = len(envelopes) + len(retried)

    # Published in paced chunks while the kills happen, so each kill lands mid-stream (a batched
    # consumer would otherwise have applied everything before the first kill).
    with ThreadPoolExecutor(max_workers=1) as producer:
        published = producer.submit(asyncio.run, publish_paced(stack.nats_url, envelopes + retried))
        killed_at: list[int] = []
        for kill in range(1, KILLS + 1):
            applied = wait_for_ledger(stack, database_url, INVOICES * kill // (KILLS + 1), poll=0.01)
            stack.stop_service("tiering", kill=True)
            killed_at.append(applied)
            stack.restart_service("tiering", timeout=90)
        duplicates = published.result()
    # The retried copies carry the same Nats-Msg-Id: the stream keeps one of each.
    assert sum(duplicates) == len(retried)
    assert all(0 < applied < INVOICES for applied in killed_at), f"a kill missed the stream: {killed_at}"

    wait_for_ledger(stack, database_url, INVOICES, poll=0.2)
    time.sleep(1.0)  # anything redelivered after the last row arrived would show up here
    found = tally(database_url, envelopes)

    fault_figures(
        f"tiering SIGKILLed x{KILLS} (at {', '.join(map(str, killed_at))} applied)",
        sent=sent,
        applied=found.applied,
        lost=found.lost,
        twice=found.twice,
    )
    assert found.lost == 0, f"{found.lost} invoices missing from the ledger"
    assert found.twice == 0, f"{found.twice} invoices applied twice"
    assert not found.wrong_event, f"ledger rows from an unexpected event: {found.wrong_event[:5]}"
    assert found.rows == INVOICES
    assert found.inbox == INVOICES, "the consumer's inbox should hold each event once"
