"""`tripleplay collections [--date D]`: mark invoices overdue and apply the collections policy's steps
(also the worker's "collections" job). Idempotent: each step is done once per invoice."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from tripleplay.collections.services import run_collections
from tripleplay.core.actors import Actor


class Command(BaseCommand):
    help = "Apply the collections policy (reminder, late fee, suspend, block) to overdue invoices."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to act as of (YYYY-MM-DD; default today)")

    def handle(self, *args, **o):
        try:
            day = date.fromisoformat(o["date"]) if o["date"] else None
        except ValueError:
            raise CommandError(f"--date must be an ISO date such as 2026-01-31, not {o['date']!r}") from None
        report = run_collections(Actor.system("collections"), day)
        self.stdout.write(f"Collections {report.summary()}.")
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        if report.failures:
            raise CommandError(f"{len(report.failures)} step(s) failed")
