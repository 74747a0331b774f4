"""Demo invoices: after the demo data is seeded, each demo customer gets an invoice (out of turn, for
everything on its ledger so far), its PDF rendered and stored under TRIPLEPLAY_HOME/invoices, so the API and
the admin have documents to show. The invoices' e-mails (with the PDF) are in the notifications outbox, for
the demo's worker to deliver through the file backend (TRIPLEPLAY_HOME/mail).

Idempotent: a customer that has an invoice already gets none."""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer, Status
from tripleplay.invoicing.documents import store_pending
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import issue_out_of_turn


def issue_demo_invoices(actor: Actor | None = None) -> tuple[int, int]:
    """Returns (invoices issued, PDFs rendered)."""
    actor = actor or Actor.system("demo")
    issued = 0
    for customer in Customer.objects.exclude(status=Status.CLOSED).order_by("id"):
        if not Invoice.objects.filter(customer=customer).exists():
            issue_out_of_turn(actor, customer)
            issued += 1
    return issued, store_pending()
