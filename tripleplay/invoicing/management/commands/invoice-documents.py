"""`tripleplay invoice-documents`: render and store the PDF of invoices issued without one (also the
worker's "invoice-documents" job). Separate from the run, which stays fast; the invoices' e-mails wait in
the notifications outbox until their PDF is stored (docs/notifications.md, D200)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tripleplay.invoicing.documents import store_pending


class Command(BaseCommand):
    help = "Render and store the PDFs of issued invoices that have none yet."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="at most this many invoices (default 1000)")

    def handle(self, *args, **o):
        self.stdout.write(f"Rendered {store_pending(o['limit'])} PDFs.")
