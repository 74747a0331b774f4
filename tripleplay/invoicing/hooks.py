"""What the invoicing app lets upper layers react to, inside its own transaction
(tripleplay.core.hooks).

Registered by (AppConfig.ready()): tripleplay.collections.apps (PAYMENT_SETTLED), tripleplay.webhooks.apps
(INVOICES_ISSUED, INVOICES_PAID) and tripleplay.notifications.apps (INVOICES_ISSUED, CREDIT_NOTE_ISSUED).
``HOOK.handlers()`` lists them.
"""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.core.hooks import Hook
from tripleplay.customers.models import Customer
from tripleplay.invoicing.models import Invoice

PAYMENT_SETTLED: Hook[[Actor, Customer]] = Hook(
    "invoicing.payment_settled",
    doc="A payment has been allocated to the customer's open invoices (customer row locked, inside the "
        "settlement's savepoint): collections lifts its suspension when nothing is overdue any more.",
)

INVOICES_ISSUED: Hook[[Actor, list[Invoice]]] = Hook(
    "invoicing.invoices_issued",
    doc="A batch of invoices was issued (the run's batch or one out-of-turn invoice), once per batch, in its "
        "transaction, after the rows are saved: webhooks writes the invoice.issued events set-based.",
)

CREDIT_NOTE_ISSUED: Hook[[Actor, Invoice]] = Hook(
    "invoicing.credit_note_issued",
    doc="An invoice was voided and its credit note issued, in the void's transaction: notifications e-mails "
        "the credit note with its PDF.",
)

INVOICES_PAID: Hook[[list[Invoice]]] = Hook(
    "invoicing.invoices_paid",
    doc="Invoices became paid (a settlement, or issued already covered by earlier payments), once per "
        "settlement, in its transaction: webhooks writes the invoice.paid events.",
)
