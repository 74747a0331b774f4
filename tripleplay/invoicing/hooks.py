"""What the invoicing app lets upper layers react to, inside its own transaction
(tripleplay.core.hooks).

Registered by (AppConfig.ready()): tripleplay.collections.apps. ``PAYMENT_SETTLED.handlers()``
lists them.
"""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.core.hooks import Hook
from tripleplay.customers.models import Customer

PAYMENT_SETTLED: Hook[[Actor, Customer]] = Hook(
    "invoicing.payment_settled",
    doc="A payment has been allocated to the customer's open invoices (customer row locked, inside the "
        "settlement's savepoint): collections lifts its suspension when nothing is overdue any more.",
)
