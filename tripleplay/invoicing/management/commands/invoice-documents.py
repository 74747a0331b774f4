"""`tripleplay invoice-documents`: render and store the PDF of invoices not yet sent and e-mail them
(also the worker's "invoice-documents" job). Separate from the run, which stays fast."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tripleplay.invoicing.notifications import deliver_documents


class Command(BaseCommand):
    help = "Render, store and e-mail the documents of issued invoices not yet sent."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="at most this many invoices (default 1000)")

    def handle(self, *args, **o):
        rendered, sent = deliver_documents(o["limit"])
        self.stdout.write(f"Rendered {rendered} PDFs, sent {sent} e-mails.")
