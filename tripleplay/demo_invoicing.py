"""Demo invoices: after the demo data is seeded, each demo customer gets an invoice (out of turn, for
everything on its ledger so far), its PDF rendered and stored under TRIPLEPLAY_HOME/invoices and e-mailed
through the file backend (TRIPLEPLAY_HOME/mail), so the API and the admin have documents to show.

Idempotent: a customer that has an invoice already gets none."""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.customers.models import Customer, Status
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.notifications import deliver_documents
from tripleplay.invoicing.services import issue_out_of_turn


def issue_demo_invoices(actor: Actor | None = None) -> tuple[int, int]:
    """Returns (invoices issued, e-mails sent)."""
    actor = actor or Actor.system("demo")
    issued = 0
    for customer in Customer.objects.exclude(status=Status.CLOSED).order_by("id"):
        if not Invoice.objects.filter(customer=customer).exists():
            issue_out_of_turn(actor, customer)
            issued += 1
    _, sent = deliver_documents()
    return issued, sent
