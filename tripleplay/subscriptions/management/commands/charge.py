"""`tripleplay charge [--date D]`: charge every subscription up to a date (default today). The worker
runs it as the "charge" job; running it by hand, any number of times, charges nothing twice."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.subscriptions.services import charge_all


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date must be an ISO date such as 2026-01-31, not {text!r}") from None


class Command(BaseCommand):
    help = "Charge subscription fees (activation, periodic, credits, early cancellation) up to a date."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="charge what is due on or before this day (YYYY-MM-DD; default today)")
        parser.add_argument("--progress-every", type=int, default=100, help="print progress every N customers")

    def handle(self, *args, **o):
        through = _date(o["date"]) if o["date"] else None
        every = max(1, o["progress_every"])

        def progress(i, total, report):
            if o["verbosity"] >= 1 and (i % every == 0 or i == total):
                self.stdout.write(f"... {i}/{total} customers, {report.entries} entries")

        report = charge_all(Actor.system("charge"), through, progress=progress)
        self.stdout.write(f"Charged {report.summary()}.")
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        if report.failures:
            raise CommandError(f"{len(report.failures)} customer(s) could not be charged")
