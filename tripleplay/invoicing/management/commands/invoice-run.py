"""`tripleplay invoice-run [--date D]`: close every billing period due by D (default today) into
invoices. Idempotent (a second run issues nothing), resumable after a crash (each batch commits whole
or not at all), and several runs at once split the work on PostgreSQL (``--processes N`` starts N)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.invoicing.services import due_count, ensure_schedules, ensure_series, run_invoices


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date must be an ISO date such as 2026-01-31, not {text!r}") from None


def bar(done: int, total: int, width: int = 30) -> str:
    filled = width if total <= 0 else min(width, done * width // total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} customers"


class Command(BaseCommand):
    help = "Issue invoices: close every customer's billing period that ends on or before a date."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="close periods ending on or before this day (YYYY-MM-DD; default today)")
        parser.add_argument("--batch-size", type=int, default=500, help="customers per transaction (default 500)")
        parser.add_argument("--processes", type=int, default=1,
                            help="run in N processes (PostgreSQL; each claims batches with SKIP LOCKED)")
        parser.add_argument("--threads", type=int, default=1,
                            help="batch loops in this process, one connection each (PostgreSQL): one builds "
                                 "lines while another waits for the database")
        parser.add_argument("--batch-delay", type=float, default=0, help=argparse.SUPPRESS)  # crash tests

    def handle(self, *args, **o):
        from django.db import connection

        through = _date(o["date"]) if o["date"] else None
        if o["batch_size"] < 1 or o["processes"] < 1 or o["threads"] < 1:
            raise CommandError("--batch-size, --processes and --threads must be at least 1")
        if o["threads"] > 1 and connection.vendor != "postgresql":
            raise CommandError("--threads needs PostgreSQL (SQLite runs one writer at a time)")
        from tripleplay import clock

        day = through or clock.today()
        ensure_series()
        ensure_schedules()
        total = due_count(day)
        self.stdout.write(f"Invoice run through {day}: {total} customers due")
        if o["processes"] > 1:
            if connection.vendor != "postgresql":
                raise CommandError("--processes needs PostgreSQL (SQLite runs one writer at a time)")
            return self._fan_out(day, o)
        shown = [-1]

        def progress(_n, report):
            step = report.customers * 20 // max(total, 1)
            if o["verbosity"] >= 1 and (step != shown[0] or report.customers >= total):
                shown[0] = step
                self.stdout.write(bar(report.customers, total))

        report = run_invoices(Actor.system("invoice-run"), day, batch_size=o["batch_size"], progress=progress,
                              batch_delay=o["batch_delay"], threads=o["threads"])
        self.stdout.write(f"Issued {report.invoices} invoices ({report.summary()}).")
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        if report.failures:
            raise CommandError("the invoice run stopped on a failure; run it again to resume")

    def _fan_out(self, day: date, o: dict) -> None:
        cmd = [sys.executable, "-m", "tripleplay.cli", "invoice-run", "--date", day.isoformat(),
               "--batch-size", str(o["batch_size"]), "--threads", str(o["threads"]), "-v", "0"]
        children = [subprocess.Popen(cmd) for _ in range(o["processes"])]
        codes = [child.wait() for child in children]
        from tripleplay.invoicing.models import BillingSchedule

        left = BillingSchedule.objects.filter(next_period_end__lte=day).count()
        self.stdout.write(f"{o['processes']} processes finished (exit codes {codes}); {left} customers still due")
        if any(codes) or left:
            raise CommandError("a process failed; run again to resume")
