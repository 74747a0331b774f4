"""`tripleplay expire-holds`: release every active hold past its expiry. The worker runs this on a
schedule; running it by hand is always safe (idempotent, and a hold is never both captured and
released)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tripleplay.ledger.services import expire_holds


class Command(BaseCommand):
    help = "Release pay-per-view holds past their expiry, freeing their funds."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="holds per transaction batch (default 1000)")

    def handle(self, *args, **options):
        batch = options["batch_size"]
        if batch < 1:
            raise CommandError("--batch-size must be at least 1")
        total = 0
        while True:
            released = expire_holds(limit=batch)
            total += released
            if released < batch:  # the last batch (or holds settled meanwhile): done for this run
                break
            if options["verbosity"] >= 1:
                self.stdout.write(f"... {total} released so far")
        self.stdout.write(f"Released {total} expired hold(s).")
