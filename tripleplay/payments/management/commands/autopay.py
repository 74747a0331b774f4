"""`tripleplay autopay [--date D]`: charge the due invoices of auto-pay customers off-session (first
attempt on the due date, retries on the days of TRIPLEPLAY_AUTOPAY_RETRY_DAYS) and send refunds left
pending (also the worker's "autopay" job). Idempotent: each attempt is made once per invoice."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.payments.services import retry_pending_refunds, run_autopay


class Command(BaseCommand):
    help = "Charge due invoices of auto-pay customers (with retries) and send pending refunds."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to act as of (YYYY-MM-DD; default today)")

    def handle(self, *args, **o):
        try:
            day = date.fromisoformat(o["date"]) if o["date"] else None
        except ValueError:
            raise CommandError(f"--date must be an ISO date such as 2026-01-31, not {o['date']!r}") from None
        actor = Actor.system("autopay")
        report = run_autopay(actor, day)
        self.stdout.write(f"Auto-pay {report.summary()}; {retry_pending_refunds(actor)} pending refunds sent again.")
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        if report.failures:
            raise CommandError(f"{len(report.failures)} invoice(s) failed")
