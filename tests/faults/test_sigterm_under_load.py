"""SIGTERM to the tiering service while InvoicePosted streams in: it exits within the chart's grace
period, what its handlers had started is either committed and acknowledged or not begun (no
half-applied work), and after a restart the ledger holds every distinct invoice exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from invoice_ledger import invoice, ledger, tally, tiering_service, wait_for_ledger

from clientpulse.shared.contracts import Stream
from clientpulse.shared.devstack import Stack
from clientpulse.shared.embedded import NatsServerProcess
from clientpulse.shared.messaging.direct import publish_envelopes

pytestmark = pytest.mark.integration

INVOICES = 2_000
# The signal arrives once this many invoices are applied, mid-consumption.
SIGNAL_AT = 300
CHART_VALUES = Path(__file__).parents[2] / "deploy" / "helm" / "clientpulse" / "values.yaml"


def shutdown_budget() -> float:
    """Seconds a pod has between SIGTERM and SIGKILL: the grace period less the preStop pause before it."""
    values = yaml.safe_load(CHART_VALUES.read_text())
    return float(values["terminationGracePeriodSeconds"]) - float(values["preStopSleepSeconds"])


@pytest.fixture
def tiering(postgres_admin_url: str, own_nats: NatsServerProcess, tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    with tiering_service(postgres_admin_url, own_nats.url, tmp_path / "stack") as service:
        yield service


async def invoice_consumer(nats_url: str | None) -> Any:
    """JetStream's view of the tiering service's InvoicePosted consumer."""
    connection = await nats.connect(nats_url or "")
    try:
        infos = await connection.jetstream().consumers_info(Stream.BILLING.value)
        [info] = [i for i in infos if "invoice-posted" in (i.name or "")]
        return info
    finally:
        await connection.close()


def test_sigterm_under_load_finishes_in_flight_handlers(
    tiering: tuple[Stack, str], fault_figures: Callable[..., None]
) -> None:
    stack, database_url = tiering
    budget = shutdown_budget()
    envelopes = [invoice(n) for n in range(INVOICES)]
    asyncio.run(publish_envelopes(stack.nats_url, envelopes))

    signalled_at = wait_for_ledger(stack, database_url, SIGNAL_AT, poll=0.01)
    process = stack.processes.pop("tiering")
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the service still ran {budget:.0f} s after SIGTERM (the pod would be SIGKILLed)")
    exited_after = time.monotonic() - sent

    # Every event the stopped process applied is acknowledged, every one it acknowledged is applied:
    # acknowledged = delivered - waiting for an ack, as long as nothing was delivered twice.
    at_exit = asyncio.run(ledger(database_url))
    consumer = asyncio.run(invoice_consumer(stack.nats_url))
    acknowledged = consumer.delivered.consumer_seq - consumer.num_ack_pending
    assert consumer.num_redelivered == 0
    assert at_exit["inbox"] == len(at_exit["rows"]), "a ledger row without its inbox claim, or the reverse"
    assert len(at_exit["rows"]) == acknowledged, (
        f"{len(at_exit['rows'])} invoices applied but {acknowledged} acknowledged when the process exited"
    )

    stack.restart_service("tiering", timeout=90)
    wait_for_ledger(stack, database_url, INVOICES, poll=0.2)
    time.sleep(1.0)  # anything redelivered after the last row arrived would show up here
    found = tally(database_url, envelopes)
    fault_figures(
        f"tiering SIGTERMed under load (at {signalled_at} applied; exited in {exited_after:.1f} s of {budget:.0f}, "
        f"{consumer.num_ack_pending} fetched and left unacknowledged)",
        sent=INVOICES,
        applied=found.applied,
        lost=found.lost,
        twice=found.twice,
    )
    assert found.lost == 0, f"{found.lost} invoices missing from the ledger"
    assert found.twice == 0, f"{found.twice} invoices applied twice"
    assert not found.wrong_event, f"ledger rows from an unexpected event: {found.wrong_event[:5]}"
    assert found.rows == found.inbox == INVOICES
