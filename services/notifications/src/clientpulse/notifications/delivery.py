"""The background worker that sends what the consumers queued: webhook deliveries and emails.

Queued rows are written in the consumers' transactions (a delivery outbox); this worker, started in
the app's lifespan like the outbox relay, claims due rows by *leasing* them (``next_attempt_at`` is
pushed past the attempt's timeout in a short transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so
replicas share the work), sends them without holding a transaction open, then records the outcome.
A process that dies mid-attempt leaves the row to be retried when its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any

import httpx
from cryptography.fernet import InvalidToken
from litestar import Litestar
from prometheus_client import Counter, Histogram

from clientpulse.notifications.db.models import WebhookAttempt
from clientpulse.notifications.db.repositories.emails import EmailRepository
from clientpulse.notifications.db.repositories.webhooks import WebhookRepository
from clientpulse.notifications.domain import webhooks as rules
from clientpulse.notifications.settings import NotificationsSettings
from clientpulse.notifications.webhook_target import Resolver, check_target, pinned_client, post_pinned, system_resolver
from clientpulse.shared.db import Database, utcnow

_log = logging.getLogger("clientpulse.notifications.delivery")

WEBHOOK_DELIVERIES = Counter(
    "clientpulse_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retry (will try again), failed (gave up), abandoned",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "clientpulse_webhook_attempt_seconds",
    "Duration of one webhook HTTP attempt",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_DELIVERY_LATENCY = Histogram(
    "clientpulse_webhook_delivery_latency_seconds",
    "From the event being queued to the receiver accepting it (retries included)",
    buckets=(0.1, 0.5, 1, 5, 30, 120, 600, 3600, 21600),
)
EMAILS_SENT = Counter("clientpulse_notification_emails_total", "Notification emails by outcome", ["outcome"])

BATCH = 20
LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "clientpulse-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One claimed delivery with what is needed to send it."""

    delivery_id: str
    webhook_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: bytes
    attempt: int
    active: bool


class DeliveryWorker:
    """Sends due webhook deliveries (and emails, when SMTP is configured) until stopped."""

    def __init__(
        self, database: Database, settings: NotificationsSettings, resolver: Resolver = system_resolver
    ) -> None:
        self.database = database
        self.settings = settings
        self.resolver = resolver
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        database.on_commit(self.wake)

    def wake(self) -> None:
        """Look for due work now rather than at the next poll (called after each commit)."""
        self._wakeup.set()

    def start(self) -> None:
        """Run in the background."""
        if self._task is None:
            self._http = pinned_client(self.settings.webhook_timeout, headers={"User-Agent": USER_AGENT})
            self._task = asyncio.create_task(self._run(), name="notifications-delivery-worker")

    async def stop(self) -> None:
        """Stop after the attempts in flight (bounded by the HTTP timeout)."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.settings.webhook_timeout + 2)
            except TimeoutError:
                self._task.cancel()
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                done = await self.run_once()
                failures = 0
            except Exception as exc:  # the database is away or not migrated yet: back off and retry
                failures += 1
                done = 0
                delay = min(15.0, 0.2 * 2 ** min(failures, 6))
                _log.warning("delivery worker failed (attempt %d), retrying in %.1fs: %s", failures, delay, exc)
                await self._sleep(delay)
                continue
            if done < BATCH:
                await self._sleep(self.settings.webhook_poll_interval)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    async def run_once(self) -> int:
        """Send one batch of due webhook deliveries and emails; returns how many were attempted."""
        outgoing = await self._claim_webhooks()
        if outgoing:
            await asyncio.gather(*(self._attempt(item) for item in outgoing))
        emails = await self._send_emails() if self.settings.smtp_host else 0
        return len(outgoing) + emails

    # --- webhooks --------------------------------------------------------------------------------

    async def _claim_webhooks(self) -> list[Outgoing]:
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.webhook_timeout) + LEASE_MARGIN
        async with self.database.transaction(notify=False) as session:
            repository = WebhookRepository(session)
            deliveries = await repository.claim_due(now, lease_until, limit=BATCH, lock=self.database.is_postgres)
            outgoing = []
            for delivery in deliveries:
                webhook = await repository.get(delivery.webhook_id)
                outgoing.append(
                    Outgoing(
                        delivery_id=delivery.id,
                        webhook_id=delivery.webhook_id,
                        url=webhook.url if webhook else "",
                        secret=webhook.secret if webhook else "",  # sealed: opened only to sign
                        event_id=delivery.event_id,
                        event_type=delivery.event_type,
                        payload=delivery.payload,
                        attempt=delivery.attempts + 1,
                        active=bool(webhook and webhook.active),
                    )
                )
        return outgoing

    async def _attempt(self, item: Outgoing) -> None:
        if not item.active:
            async with self.database.transaction(notify=False) as session:
                delivery = await WebhookRepository(session).delivery(item.delivery_id)
                if delivery is not None and delivery.status == "pending":
                    delivery.status = "abandoned"
                    delivery.last_error = "the webhook was disabled or deleted"
            WEBHOOK_DELIVERIES.labels("abandoned").inc()
            return
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            # Resolved again at each attempt (a name that pointed outside may point inside by now), and
            # sent to the address just checked, never to a fresh resolution of the name.
            target = await check_target(item.url, self.settings, self.resolver)
            timestamp = int(time.time())
            assert self._http is not None
            response = await post_pinned(
                self._http,
                target,
                content=item.payload,
                headers={
                    "Content-Type": "application/cloudevents+json",
                    rules.SIGNATURE_HEADER: rules.signature_header(self._open(item.secret), timestamp, item.payload),
                    "X-Clientpulse-Event-Id": item.event_id,
                    "X-Clientpulse-Event-Type": item.event_type,
                    "X-Clientpulse-Delivery-Id": item.delivery_id,
                    "X-Clientpulse-Attempt": str(item.attempt),
                },
            )
            status_code = response.status_code
            if not rules.is_success(status_code):
                error = f"the receiver answered HTTP {status_code}"
        except rules.TargetRefused as exc:
            error = f"refused: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except InvalidToken:
            error = (
                "the signing secret cannot be decrypted: was WEBHOOK_SECRETS_KEY changed? register the webhook again"
            )
        duration = time.perf_counter() - started
        WEBHOOK_ATTEMPT_SECONDS.observe(duration)
        await self._record(item, status_code, error, duration)

    def _open(self, sealed: str) -> str:
        return rules.open_secret(self.settings.webhook_secrets_key.get_secret_value(), sealed)

    async def _record(self, item: Outgoing, status_code: int | None, error: str | None, duration: float) -> None:
        settings = self.settings
        now = utcnow()
        async with self.database.transaction(notify=False) as session:
            repository = WebhookRepository(session)
            delivery = await repository.delivery(item.delivery_id)
            webhook = await repository.webhook_for_update(item.webhook_id)
            if delivery is None or webhook is None or delivery.status != "pending":
                return
            delivery.attempts += 1
            await repository.add_attempt(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=delivery.attempts,
                    attempted_at=now,
                    status_code=status_code,
                    error=error,
                    duration_ms=int(duration * 1000),
                )
            )
            if error is None:
                delivery.status = "delivered"
                delivery.delivered_at = now
                delivery.last_error = None
                webhook.consecutive_failures = 0
                WEBHOOK_DELIVERIES.labels("delivered").inc()
                WEBHOOK_DELIVERY_LATENCY.observe(max(0.0, (now - delivery.created_at).total_seconds()))
                return
            delivery.last_error = error
            webhook.consecutive_failures += 1
            if delivery.attempts >= settings.webhook_max_attempts:
                delivery.status = "failed"
                WEBHOOK_DELIVERIES.labels("failed").inc()
            else:
                delay = rules.retry_delay(delivery.attempts, settings.webhook_retry_delays)
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                WEBHOOK_DELIVERIES.labels("retry").inc()
            if webhook.active and rules.should_disable(webhook.consecutive_failures, settings.webhook_disable_after):
                webhook.active = False
                webhook.disabled_at = now
                webhook.disabled_reason = f"{webhook.consecutive_failures} failed attempts in a row; last: {error}"[
                    :300
                ]
                await session.flush()
                abandoned = await repository.abandon_pending(
                    webhook.id, "the webhook was disabled after repeated failures"
                )
                WEBHOOK_DELIVERIES.labels("abandoned").inc(abandoned)
                _log.warning("webhook %s disabled after %d failures", webhook.id, webhook.consecutive_failures)

    # --- email -----------------------------------------------------------------------------------

    async def _send_emails(self) -> int:
        now = utcnow()
        async with self.database.transaction(notify=False) as session:
            messages = await EmailRepository(session).claim_due(
                now, now + LEASE_MARGIN + timedelta(seconds=30), limit=BATCH, lock=self.database.is_postgres
            )
            batch = [(m.id, m.to_address, m.subject, m.body) for m in messages]
        for message_id, to_address, subject, body in batch:
            error: str | None = None
            try:
                await asyncio.to_thread(self._smtp_send, to_address, subject, body)
            except (OSError, smtplib.SMTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
            async with self.database.transaction(notify=False) as session:
                message = await EmailRepository(session).get(message_id)
                if message is None:
                    continue
                message.attempts += 1
                if error is None:
                    message.status = "sent"
                    message.sent_at = utcnow()
                    EMAILS_SENT.labels("sent").inc()
                elif message.attempts >= self.settings.webhook_max_attempts:
                    message.status = "failed"
                    message.last_error = error
                    EMAILS_SENT.labels("failed").inc()
                else:
                    message.last_error = error
                    delay = rules.retry_delay(message.attempts, self.settings.webhook_retry_delays)
                    message.next_attempt_at = utcnow() + timedelta(seconds=delay)
                    EMAILS_SENT.labels("retry").inc()
        return len(batch)

    def _smtp_send(self, to_address: str, subject: str, body: str) -> None:
        mime = MimeMessage()
        mime["From"] = self.settings.smtp_from
        mime["To"] = to_address
        mime["Subject"] = subject
        mime.set_content(body)
        assert self.settings.smtp_host is not None
        with smtplib.SMTP(
            self.settings.smtp_host, self.settings.smtp_port, timeout=self.settings.webhook_timeout
        ) as smtp:
            smtp.send_message(mime)


def delivery_lifespan(worker: DeliveryWorker, on_stop: Callable[[], None] | None = None) -> Callable[[Litestar], Any]:
    """Run the worker while the app runs (after migrations, stopped before the database closes)."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            if on_stop is not None:
                on_stop()
            await worker.stop()

    return lifespan
