"""The delivery worker: sends pending notifications, e-mail through Django's e-mail backend, SMS through
the provider adapter (sms.TwilioSms).

Claim (one short transaction): pending notifications that are due, oldest first, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL so that every worker shares the queue; each becomes ``sending`` with a lease and
one more attempt, committed before any call. Send (no transaction open): one call each, with a timeout.
Finish (one short transaction each): sent; or pending again with backoff (transient); or failed (dead
letter: permanent, retries exhausted, or an unknown outcome). Only rows this worker still leases change.

A worker that dies between claim and finish leaves rows ``sending`` whose lease runs out; they may have
reached the provider, so they are failed as an unknown outcome rather than sent again (no double SMS):
an operator checks and retries (D112).

An e-mail that attaches an invoice (D200) is not claimed before the invoice-documents job stored the
invoice's PDF; it is sent with the stored file, read through the "invoices" storage and checked against its
hash (a missing or changed file: a dead letter, never another document)."""

from __future__ import annotations

import logging
import os
import random
import smtplib
import socket
import uuid
from datetime import timedelta

from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.db import connection, transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.core.errors import DomainError
from tripleplay.invoicing import documents
from tripleplay.invoicing.models import Invoice
from tripleplay.notifications import catalogue
from tripleplay.notifications.models import Notification, Status
from tripleplay.notifications.policy import PERMANENT, TRANSIENT, UNKNOWN, Outcome, RetryPolicy
from tripleplay.notifications.sms import TwilioSms

log = logging.getLogger("tripleplay.notifications")


def send_email(n: Notification) -> Outcome:
    msg_id = make_msgid("notification", domain="tripleplay.invalid")
    msg = EmailMessage(subject=n.subject, body=n.body, to=[n.recipient], headers={"Message-ID": msg_id})
    if n.invoice_id is not None:
        # The stored PDF, through the "invoices" storage and checked against its hash, as the API serves it.
        invoice = Invoice.objects.get(pk=n.invoice_id)
        try:
            msg.attach(f"{invoice.number_text}.pdf", documents.pdf_bytes(invoice), "application/pdf")
        except DomainError as e:  # the stored file is missing or changed: an operator must look
            return Outcome(False, failure=PERMANENT, error=f"attachment: {e.message}"[:500])
    try:
        sent = msg.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as e:
        return Outcome(False, failure=PERMANENT, error=f"{type(e).__name__}: {e}"[:500])
    except smtplib.SMTPResponseException as e:
        return Outcome(False, failure=PERMANENT if 500 <= e.smtp_code < 600 else TRANSIENT,
                       error=f"SMTP {e.smtp_code}: {e.smtp_error!r}"[:500])
    except (smtplib.SMTPException, OSError) as e:
        return Outcome(False, failure=TRANSIENT, error=f"{type(e).__name__}: {e}"[:500])
    if sent != 1:
        return Outcome(False, failure=TRANSIENT, error="the e-mail backend sent nothing")
    return Outcome(True, provider_id=msg_id[:100])


class Deliverer:
    def __init__(self, *, name: str | None = None, batch_size: int = 50, lease_seconds: int = 120,
                 retry: RetryPolicy | None = None, sms: TwilioSms | None = None, seed: int | None = None):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size, self.lease = batch_size, timedelta(seconds=lease_seconds)
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)
        self._sms = sms
        self._sms_loaded = sms is not None

    @property
    def sms(self) -> TwilioSms | None:
        if not self._sms_loaded:
            self._sms, self._sms_loaded = TwilioSms.from_settings(), True
        return self._sms

    def close(self) -> None:
        if self._sms is not None:
            self._sms.close()
        self._sms, self._sms_loaded = None, False

    def run_once(self) -> int:
        """Fail the abandoned, then claim, send and finish one batch; returns how many were handled."""
        self.fail_abandoned()
        batch = self.claim()
        for n in batch:
            self.finish(n, self.send(n))
        return len(batch)

    def fail_abandoned(self) -> int:
        return Notification.objects.filter(status=Status.SENDING, lease_until__lt=clock.now()).update(
            status=Status.FAILED, lease_owner="", lease_until=None,
            last_error="outcome unknown: the worker stopped during the call; check the provider before retrying")

    def claim(self) -> list[Notification]:
        now = clock.now()
        with transaction.atomic():
            # An e-mail that attaches an invoice waits until the invoice-documents job stored its PDF (D200).
            due = Notification.objects.filter(
                Q(invoice__isnull=True) | ~Q(invoice__pdf_sha256=""), status=Status.PENDING,
                next_attempt_at__lte=now).order_by("next_attempt_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(due.values_list("id", flat=True)[:self.batch_size])
            for n in Notification.objects.filter(id__in=ids):
                Notification.objects.filter(pk=n.pk).update(
                    status=Status.SENDING, lease_owner=self.name, lease_until=now + self.lease, attempts=n.attempts + 1)
        return list(Notification.objects.filter(id__in=ids, lease_owner=self.name).order_by("id"))

    def send(self, n: Notification) -> Outcome:
        try:
            if n.channel == catalogue.EMAIL:
                return send_email(n)
            if self.sms is None:
                return Outcome(False, failure=PERMANENT, error="no SMS provider configured (TRIPLEPLAY_TWILIO_ACCOUNT_SID)")
            return self.sms.send(n.recipient, n.body)
        except Exception as e:  # a bug or an unexpected backend error: keep the worker alive, leave a trace
            log.exception("notification %s", n.pk)
            return Outcome(False, failure=UNKNOWN, error=f"{type(e).__name__}: {e}"[:500])

    def finish(self, n: Notification, outcome: Outcome) -> None:
        now = clock.now()
        mine = Notification.objects.filter(pk=n.pk, status=Status.SENDING, lease_owner=self.name)
        common = {"lease_owner": "", "lease_until": None}
        if outcome.sent:
            # The SID is known from here on: Twilio's status callbacks find the row by it (D202).
            mine.update(status=Status.SENT, provider_id=outcome.provider_id, sent_at=now, last_error="",
                        provider_status=outcome.provider_status, provider_status_at=now if outcome.provider_status else None,
                        **common)
        elif outcome.failure == TRANSIENT and not self.retry.gives_up(n.attempts):
            mine.update(status=Status.PENDING, next_attempt_at=now + self.retry.delay(n.attempts, self.rng),
                        last_error=outcome.error, **common)
        else:
            if outcome.failure == TRANSIENT:
                error = f"gave up after {n.attempts} attempts: {outcome.error}"
            else:
                error = outcome.error
            mine.update(status=Status.FAILED, last_error=error[:500], **common)
